"""Stock contract §17 System: `GET /api/health` (public, never rate limited) and
`GET /api/metrics/performance` (ADMIN): request counts and latency percentiles per route since the API
process started (api/middleware/metrics.py)."""

from typing import Any

from fastapi import Request

from api.deps import require
from api.middleware.metrics import PerformanceRecorder
from api.stock.common import stock_router
from api.stock.schemas.system import PerformanceOut, StockHealthOut
from core.permissions import Perm
from core.timeutil import iso_z, utcnow

router = stock_router(tags=["stock: system"])


@router.get("/health", response_model=StockHealthOut)
def health() -> Any:
    return {"status": "ok", "timestamp": iso_z(utcnow().replace(microsecond=0))}


@router.get("/metrics/performance", dependencies=[require(Perm.SYSTEM_SETTINGS)], response_model=PerformanceOut)
async def performance(request: Request) -> Any:
    """Async on purpose: the recorder is only touched on the event loop."""
    recorder: PerformanceRecorder = request.app.state.performance
    return recorder.report()
