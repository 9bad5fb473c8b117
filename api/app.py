"""The app factory: one engine and one Temporal client per process, created in the lifespan."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.dialects import dialect_for_path, error_body, install_error_handlers
from api.routers import ROUTERS
from core import temporal
from core.db import make_engine, make_sessionmaker
from core.settings import Settings, get_settings

log = logging.getLogger("api")


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or make_engine(settings.resolved_database_url())
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.temporal = temporal_client or await temporal.connect(settings, lazy=True)
        app.state.settings = settings
        yield
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(title="Manufacturing operations backend", version=settings.version, lifespan=lifespan)
    install_error_handlers(app)
    app.middleware("http")(body_size_guard(settings.max_body_bytes))
    for router in ROUTERS:
        app.include_router(router)
    return app


def body_size_guard(limit: int) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Any]]:
    """Refuse a body larger than `limit` bytes (by its declared length) with 413 in the route's dialect."""
    from fastapi.responses import JSONResponse

    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            status, body = error_body(dialect_for_path(request.url.path), "PAYLOAD_TOO_LARGE", 413,
                                      f"Request body exceeds {limit} bytes", {"limit": limit})
            return JSONResponse(body, status_code=status)
        return await call_next(request)

    return guard
