"""The app factory: one engine and one Temporal client per process, created in the lifespan."""

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope
from temporalio.client import Client

from api.contracts.dialects import install_error_handlers
from api.deps import PrincipalCache, start_principal_sweeper
from api.middleware.body_limit import BodySizeLimit
from api.middleware.error_guard import ErrorGuard
from api.middleware.idempotency import Idempotency, watch_commits
from api.middleware.metrics import PerformanceRecorder, RequestMetrics
from api.middleware.rate_limit import StockRateLimit
from api.middleware.request_context import RequestContextMiddleware
from api.middleware.security_headers import SecurityHeaders
from api.routes import ROUTERS
from core import temporal
from core.db import make_engine, make_sessionmaker
from core.settings import Settings, get_settings

# Bodies that carry photos (multipart): as many photos as an NCR may hold, each at its largest, and the form.
UPLOADS = re.compile(r"/api/v1/ncr-reports(/\d+/photos)?")
UPLOAD_FORM_SLACK = 256 * 1024

log = logging.getLogger("api")


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or make_engine(settings.resolved_database_url())
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        watch_commits(app.state.sessionmaker)  # a keyed request's direct write marks its key applied
        app.state.read_sessionmaker = make_sessionmaker(app.state.engine.execution_options(
            isolation_level="AUTOCOMMIT"))  # GET and HEAD (api/deps.py get_session)
        app.state.temporal = temporal_client or await temporal.connect(settings, lazy=True)
        app.state.settings = settings
        sweeper = start_principal_sweeper(app)
        yield
        if sweeper is not None:
            sweeper.stop()
        if engine is None:
            app.state.engine.dispose()

    docs = settings.docs_enabled  # DOCS_ENABLED=false: /docs, /redoc and /openapi.json answer 404
    app = FastAPI(title="Manufacturing operations backend", version=settings.version, lifespan=lifespan,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    install_error_handlers(app)
    app.add_middleware(Idempotency)  # a retry with the same Idempotency-Key answers the first call's result
    app.add_middleware(RequestContextMiddleware)  # the caller's IP and request, for the audit rows
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes, uploads=UPLOADS,
                       upload_limit=settings.erp_ncr_max_photos * settings.erp_ncr_photo_max_bytes + UPLOAD_FORM_SLACK)
    app.add_middleware(StockRateLimit, per_minute=settings.rate_limit_per_minute)
    app.state.performance = PerformanceRecorder()
    app.add_middleware(RequestMetrics, recorder=app.state.performance)  # times every answer
    app.add_middleware(ErrorGuard)  # whatever escapes is answered here, never raised to the server
    app.add_middleware(SecurityHeaders)  # around everything (it cannot fail): every answer carries them
    app.state.principals = PrincipalCache(settings.principal_cache_seconds)
    for router in ROUTERS:
        include_guarded(app, router)
    return app


def include_guarded(app: FastAPI, router: APIRouter) -> None:
    """Include `router`, and let the app skip it at once for a path outside its paths' fixed prefixes.

    The app tries its routers in order, each trying its routes, for every request (twice: to choose, then
    to dispatch): measured, about 0.1 ms of CPU for a route in the ninth router and 0.3-0.4 ms for one of
    the stock routers further down. The guard answers exactly what the router would for any other path
    (no match), so order, 404s, 405s and slash redirects are unchanged. It reads the router's routes now:
    a route added to it later would need the app made again (tests/identity/test_request_path.py checks them all)."""
    before = {id(route) for route in app.router.routes}
    app.include_router(router)
    added = [route for route in app.router.routes if id(route) not in before]
    prefixes = fixed_prefixes(router)
    if len(added) == 1 and prefixes:  # FastAPI 0.163 adds one entry per included router; else leave it be
        guard(added[0], prefixes)


def fixed_prefixes(router: APIRouter) -> tuple[str, ...] | None:
    """The shortest fixed starts of the router's route paths (up to the first parameter), or None when a
    route has no plain path (a mount, a nested router, a host)."""
    starts = set()
    for route in router.routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or not getattr(route, "methods", None):
            return None
        starts.add(path.split("{", 1)[0])
    return tuple(p for p in sorted(starts) if not any(p != q and p.startswith(q) for q in starts)) or None


def guard(route: BaseRoute, prefixes: tuple[str, ...]) -> None:
    matches: Callable[[Scope], tuple[Match, Scope]] = route.matches

    def guarded(scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(prefixes):
            return Match.NONE, {}
        return matches(scope)

    route.matches = guarded  # type: ignore[method-assign]
