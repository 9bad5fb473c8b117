"""Bodies of the stock contract's §17 System: health and the per-route performance report
(api/middleware/metrics.py builds it)."""

from typing import Literal

from pydantic import BaseModel

from api.stock.schemas.documents import IsoTime


class StockHealthOut(BaseModel):
    status: Literal["ok"]
    timestamp: IsoTime


class RoutePerformanceOut(BaseModel):
    """One route template's requests since the process started; percentiles of its last `reservoir_size`."""

    route: str
    method: str
    path: str
    count: int
    client_errors: int
    server_errors: int
    sampled: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class PerformanceOut(BaseModel):
    started_at: IsoTime
    uptime_seconds: float
    total_requests: int
    reservoir_size: int
    routes: list[RoutePerformanceOut]
