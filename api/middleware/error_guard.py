"""The outermost middleware: no exception escapes the app.

Starlette's own last handler answers 500 and then raises the exception again, for the server to log; uvicorn
then closes the connection, so the client's next request on it is dropped and a client of a POST cannot tell
whether it applied. Here an escaped exception is answered in the route's dialect (api/contracts/dialects.py
`render_unexpected`: a failure of the database or Temporal is a 503 with `Retry-After`) and ends there. If the
answer had already begun, the exception is logged and the answer ends with what was sent."""

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from api.contracts.dialects import render_http, render_unexpected
from api.middleware.base import HttpMiddleware

log = logging.getLogger("api.errors")


class ErrorGuard(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = finished = False

        async def sending(message: Message) -> None:
            nonlocal started, finished
            started = True
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the point: answer it, never re-raise
            if started:
                log.exception("error after the answer began on %s %s", scope["method"], scope["path"])
                if not finished:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            request = Request(scope)
            # an HTTP error raised in a middleware (a body too large, read by middleware/idempotency.py) is still itself
            answer = render_http(request, exc) if isinstance(exc, HTTPException) else render_unexpected(request, exc)
            await answer(scope, receive, send)
