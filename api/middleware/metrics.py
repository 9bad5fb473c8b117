"""Request counts and latency per route template (`GET /api/locations/{location_id}`) since the process
started, for `GET /api/metrics/performance`. Every request of every contract is recorded by an ASGI
middleware; each route keeps a bounded reservoir of its most recent durations, so the percentiles are of
the last `RESERVOIR` requests of that route and memory stays flat. Per API process, in memory."""

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.timeutil import iso_z, utcnow

RESERVOIR = 1024
UNMATCHED = "<unmatched>"


def _percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class RouteStats:
    count: int = 0
    client_errors: int = 0
    server_errors: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RESERVOIR))

    def add(self, seconds: float, status: int) -> None:
        self.count += 1
        self.client_errors += 400 <= status < 500
        self.server_errors += status >= 500
        self.recent.append(seconds)

    def summary(self, route: str) -> dict[str, Any]:
        ordered = sorted(self.recent)
        method, _, path = route.partition(" ")
        millis = {f"{name}_ms": round(_percentile(ordered, share) * 1000, 3)
                  for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}
        return {"route": route, "method": method, "path": path, "count": self.count,
                "client_errors": self.client_errors, "server_errors": self.server_errors,
                "sampled": len(ordered), **millis, "max_ms": round(ordered[-1] * 1000, 3)}


class PerformanceRecorder:
    """Lives in `app.state.performance`; touched only on the event loop (middleware and an async route)."""

    def __init__(self) -> None:
        self.started_at = utcnow()
        self._started = time.monotonic()
        self.routes: dict[str, RouteStats] = {}

    def record(self, route: str, seconds: float, status: int) -> None:
        self.routes.setdefault(route, RouteStats()).add(seconds, status)

    def report(self) -> dict[str, Any]:
        routes = sorted(self.routes.items(), key=lambda item: (-item[1].count, item[0]))
        return {"started_at": iso_z(self.started_at), "uptime_seconds": round(time.monotonic() - self._started, 3),
                "total_requests": sum(stats.count for stats in self.routes.values()),
                "reservoir_size": RESERVOIR, "routes": [stats.summary(route) for route, stats in routes]}


def route_of(scope: Scope) -> str:
    """`METHOD /path/{template}` of the route that answered; unmatched paths share one entry."""
    path = getattr(scope.get("route"), "path", None)
    return f"{scope.get('method', 'GET')} {path or UNMATCHED}"


class RequestMetrics:
    def __init__(self, app: ASGIApp, recorder: PerformanceRecorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless a response starts: an exception escaping the app is answered 500 outside

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, observed)
        finally:
            self.recorder.record(route_of(scope), time.perf_counter() - started, status)
