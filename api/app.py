"""The app factory: one engine and one Temporal client per process, created in the lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.body_limit import BodySizeLimit
from api.deps import PrincipalCache, start_principal_sweeper
from api.dialects import install_error_handlers
from api.metrics import PerformanceRecorder, RequestMetrics
from api.rate_limit import StockRateLimit
from api.request_context import RequestContextMiddleware
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
        sweeper = start_principal_sweeper(app)
        yield
        if sweeper is not None:
            sweeper.stop()
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(title="Manufacturing operations backend", version=settings.version, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)  # the caller's IP and request, for the audit rows
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(StockRateLimit, per_minute=settings.rate_limit_per_minute)
    app.state.performance = PerformanceRecorder()
    app.add_middleware(RequestMetrics, recorder=app.state.performance)  # outermost: times every answer
    app.state.principals = PrincipalCache(settings.principal_cache_seconds)
    for router in ROUTERS:
        app.include_router(router)
    return app
