"""The stock contract's rate limit: `RATE_LIMIT_PER_MINUTE` requests per minute per session (the token's
`sid`; before sign-in, per client address), on the stock routes (`/api/...`) only: not `/api/v1`, not
`/health`, not `/api/health`. Over the limit: 429 `RATE_LIMITED` in the stock dialect with `Retry-After`.

A sliding window (the times of the last N admitted requests per key), in memory, per API process: with
several API processes or replicas each counts on its own. Refused requests do not count. Kept in memory on
purpose: counting in PostgreSQL (one upsert per limited request, on a worker thread) measured 0.2-0.35 ms more
API CPU and 0.2-0.7 ms more latency per stock request (a sixth to a quarter of the CPU of a GET of one
record), against 0.5 us in memory; the shipped shape runs one API process (API_WORKERS=1), which counts
exactly. Password guessing, which must hold across processes, is the login throttle's job (services/identity)."""

import math
import time
from collections import deque
from collections.abc import Callable

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.contracts.dialects import Dialect, error_body
from api.deps import token_identity
from api.middleware.request_context import caller_ip

WINDOW_SECONDS = 60.0
SWEEP_EVERY_SECONDS = 60.0
UNLIMITED_PATHS = frozenset({"/api/health"})


def is_limited_path(path: str) -> bool:
    on_stock = path.startswith("/api/") and not (path == "/api/v1" or path.startswith("/api/v1/"))
    return on_stock and path.rstrip("/") not in UNLIMITED_PATHS


class SlidingWindow:
    def __init__(self, limit: int, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.hits: dict[str, deque[float]] = {}
        self._swept = clock()

    def admit(self, key: str) -> int:
        """0 when admitted (and counted), else the seconds until a request of `key` will be admitted."""
        now = self.clock()
        self._sweep(now)
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return 0

    def _sweep(self, now: float) -> None:
        """Forget keys (ended sessions, passing addresses) with no request inside the window."""
        if now - self._swept < SWEEP_EVERY_SECONDS:
            return
        self._swept = now
        for key in [k for k, hits in self.hits.items() if not hits or hits[-1] <= now - self.window]:
            del self.hits[key]


def client_key(scope: Scope) -> str:
    """The session of a valid access token (bearer or cookie), else the caller's address (caller_ip: the
    X-Forwarded-For of FORWARDED_ALLOW_IPS proxies only, so a spoofed header does not buy a fresh budget)."""
    identity = token_identity(scope)
    if identity is not None:
        return f"session:{identity[1]}"
    return f"address:{caller_ip(scope) or 'unknown'}"


class StockRateLimit:
    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.window = SlidingWindow(per_minute) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.window is None or scope["type"] != "http" or not is_limited_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        wait = self.window.admit(client_key(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        status, body = error_body(Dialect.STOCK, "RATE_LIMITED", 429,
                                  f"Too many requests: at most {self.window.limit} per minute; "
                                  f"try again in {wait} seconds",
                                  {"limit": self.window.limit, "window_seconds": int(WINDOW_SECONDS),
                                   "retry_after": wait})
        await JSONResponse(body, status_code=status, headers={"Retry-After": str(wait)})(scope, receive, send)
