"""`/health` and `/health/ready` (battery-rul contract), both public."""

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.dialects import Dialect, dialect_router
from core.settings import get_settings

router = dialect_router(Dialect.AEROSPACE, tags=["health"])


def _identity() -> dict[str, Any]:
    settings = get_settings()
    return {"service": settings.service_name, "version": settings.version, "environment": settings.environment}


@router.get("/health")
def health() -> Any:
    return {"status": "healthy", **_identity()}


def _database_ok(request: Request) -> None:
    with request.app.state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def _temporal_ok(request: Request) -> None:
    client = request.app.state.temporal
    if client is None:
        raise RuntimeError("not connected")
    async with asyncio.timeout(3):
        await client.service_client.check_health()


@router.get("/health/ready")
async def ready(request: Request) -> Any:
    body: dict[str, Any] = {"status": "ready", "service": get_settings().service_name,
                            "database": "connected", "temporal": "connected"}
    errors: list[str] = []
    try:
        await run_in_threadpool(_database_ok, request)
    except Exception:  # noqa: BLE001 - any failure means not ready
        body["database"] = "disconnected"
        errors.append("Database connection failed")
    try:
        await _temporal_ok(request)
    except Exception:  # noqa: BLE001
        body["temporal"] = "disconnected"
        errors.append("Temporal connection failed")
    if errors:
        return JSONResponse({**body, "status": "not_ready", "error": "; ".join(errors)}, status_code=503)
    return body
