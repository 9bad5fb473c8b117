"""Sets the request context (core/request_context.py) for every HTTP request: the audit rows written while it is
served carry the caller's IP (the first `X-Forwarded-For` hop behind a proxy) and `METHOD /path`."""

from starlette.types import ASGIApp, Receive, Scope, Send

from core.request_context import MAX_REQUEST_CHARS, RequestContext, using


def caller_ip(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            return value.decode("latin-1").split(",")[0].strip() or None
    client = scope.get("client")
    return str(client[0]) if client else None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = f"{scope['method']} {scope['path']}"[:MAX_REQUEST_CHARS]
        with using(RequestContext(caller_ip(scope), request)):
            await self.app(scope, receive, send)
