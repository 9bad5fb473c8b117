"""Security headers on every HTTP answer (JSON, HTML, errors, redirects), set where the answer starts:

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`;
- `Content-Security-Policy`: `default-src 'none'; frame-ancestors 'none'` on JSON (a JSON answer loads
  nothing and is never framed), `frame-ancestors 'none'` on anything else, so the API docs page (scripts and
  styles from a CDN) and the inbox pages still load what they need.

A header the route set itself is left as it is (the inbox pages set a stricter policy of their own)."""

from starlette.types import Message, Receive, Scope, Send

from api.middleware.base import HttpMiddleware

JSON_CSP = b"default-src 'none'; frame-ancestors 'none'"
FRAME_CSP = b"frame-ancestors 'none'"
ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
CSP = b"content-security-policy"


def is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in ALWAYS if name not in present]
    if CSP not in present:
        content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
        added.append((CSP, JSON_CSP if is_json(content_type) else FRAME_CSP))
    return headers + added if added else headers


class SecurityHeaders(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_security_headers(list(message.get("headers", ())))}
            await send(message)

        await self.app(scope, receive, send_with_headers)
