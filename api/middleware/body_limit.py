"""Refuse request bodies over the limit, whether declared (Content-Length) or streamed (chunked). Uploads (a POST
to a path of `uploads`: the NCR reports' photos) have a limit of their own, as large as the photos they may hold;
every other body keeps MAX_BODY_BYTES."""

import re
from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.contracts.dialects import dialect_for_path, error_body


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds {limit} bytes")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit: int, uploads: re.Pattern[str] | None = None,
                 upload_limit: int = 0) -> None:
        self.app, self.default_limit, self.uploads, self.upload_limit = app, limit, uploads, upload_limit

    def limit_of(self, scope: Scope) -> int:
        upload = self.uploads is not None and scope.get("method") == "POST" and self.uploads.fullmatch(scope["path"])
        return max(self.upload_limit, self.default_limit) if upload else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        if self._declared_length(scope) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)  # rendered by the route's dialect handler
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                return int(value)
        return 0

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        status, body = error_body(dialect_for_path(scope["path"]), "PAYLOAD_TOO_LARGE", 413,
                                  f"Request body exceeds {limit} bytes", {"limit": limit})
        response: Any = JSONResponse(body, status_code=status)
        await response(scope, receive, send)
