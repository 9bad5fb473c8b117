"""`/health` and `/health/ready` (battery-rul contract), both public."""

import asyncio
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.wire import WireModel
from core.heartbeat import worker_silence
from core.settings import get_settings

router = dialect_router(Dialect.AEROSPACE, tags=["health"])

Link = Literal["connected", "disconnected"]


class HealthOut(WireModel):
    status: Literal["healthy"]
    service: str
    version: str
    environment: str


class ReadyOut(WireModel):
    """Each part's state: the database, Temporal, and a worker on the task queue (`unknown` without the database)."""

    status: Literal["ready", "not_ready"]
    service: str
    database: Link
    temporal: Link
    worker: Literal["running", "stopped", "unknown"]


class NotReadyOut(ReadyOut):
    """The 503: `status` is `not_ready` and `error` names the parts that are down."""

    error: str


def _identity() -> dict[str, Any]:
    settings = get_settings()
    return {"service": settings.service_name, "version": settings.version, "environment": settings.environment}


@router.get("/health")
def health() -> HealthOut:
    return HealthOut(status="healthy", **_identity())


def _worker_silence(request: Request) -> float | None:
    """Checks the database too: seconds since the task queue's worker last beat (core/heartbeat.py)."""
    with request.app.state.engine.connect() as conn:
        return worker_silence(conn, request.app.state.settings.task_queue)


async def _temporal_ok(request: Request) -> None:
    client = request.app.state.temporal
    if client is None:
        raise RuntimeError("not connected")
    async with asyncio.timeout(3):
        await client.service_client.check_health()


@router.get("/health/ready", response_model=ReadyOut,
            responses={503: {"model": NotReadyOut, "description": "Not ready (`Retry-After` seconds)"}})
async def ready(request: Request) -> ReadyOut | JSONResponse:
    """Ready when the database, Temporal and a worker all answer; each part says how it is, and `error` names
    the parts that are down."""
    body: dict[str, Any] = {"status": "ready", "service": get_settings().service_name,
                            "database": "connected", "temporal": "connected", "worker": "running"}
    errors: list[str] = []
    try:
        silence = await run_in_threadpool(_worker_silence, request)
    except Exception:  # noqa: BLE001 - any failure means not ready
        body["database"], body["worker"] = "disconnected", "unknown"
        errors.append("Database connection failed")
    else:
        limit = request.app.state.settings.worker_silence_seconds
        if silence is None or silence > limit:
            body["worker"] = "stopped"
            errors.append("No worker has been seen on the task queue" if silence is None
                          else f"The worker has not been seen for {silence:.0f} s")
    try:
        await _temporal_ok(request)
    except Exception:  # noqa: BLE001
        body["temporal"] = "disconnected"
        errors.append("Temporal connection failed")
    if errors:
        return JSONResponse({**body, "status": "not_ready", "error": "; ".join(errors)}, status_code=503,
                            headers={"Retry-After": "5"})
    return ReadyOut(**body)
