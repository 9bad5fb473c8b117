"""Error dialects (DESIGN.md §4): every router declares its contract's dialect; one handler renders
every `AppError`, validation error, HTTP error and unexpected error in the dialect of the route."""

import functools
import inspect
import logging
from collections.abc import Callable
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from api.contracts.errors import AerospaceError, ConsoleError, ErpError, StockError, error_responses
from core.errors import AppError, refused_data

log = logging.getLogger("api.errors")


class Dialect(StrEnum):
    BATTERY_PACK = "battery-pack"
    ERP = "manufacturing-erp"
    AEROSPACE = "aerospace"  # also battery-rul: `{"detail": …}`
    STOCK = "stock"


# Codes a dialect spells differently, and statuses it re-states.
RENAMED_CODES: dict[Dialect, dict[str, str]] = {
    Dialect.STOCK: {"ACCESS_DENIED": "INSUFFICIENT_PERMISSIONS", "WORKFLOW_VIOLATION": "INVALID_STATUS",
                    "ALREADY_DECIDED": "INVALID_STATUS", "SELF_APPROVAL": "INSUFFICIENT_PERMISSIONS",
                    # Every 401 is the table's NOT_AUTHENTICATED; the message keeps the reason.
                    "TOKEN_REVOKED": "NOT_AUTHENTICATED", "AUTH_EXPIRED": "NOT_AUTHENTICATED",
                    "USER_INACTIVE": "NOT_AUTHENTICATED", "INVALID_CREDENTIALS": "NOT_AUTHENTICATED",
                    # A rule of the record's state: a record still in use, one's own account.
                    "LOCATION_IN_USE": "INVALID_STATUS", "ITEM_IN_USE": "INVALID_STATUS",
                    "SUPPLIER_IN_USE": "INVALID_STATUS", "CANNOT_DELETE_SELF": "INVALID_STATUS"},
}
RESTATED: dict[Dialect, dict[str, int]] = {Dialect.STOCK: {"INVALID_STATUS": 400, "VALIDATION_ERROR": 400}}
# The stock contract's H3 errors carry their own `statusMessage` ("Insufficient Stock" in its example) for the
# business 400s of its Error Codes table; every other error says its HTTP phrase ("Bad Request" for validation).
STOCK_STATUS_MESSAGES = {"INSUFFICIENT_STOCK": "Insufficient Stock", "PERIOD_CLOSED": "Period Closed",
                         "NO_OPEN_PERIOD": "No Open Period", "INVALID_STATUS": "Invalid Status"}
ERROR_MODELS: dict[Dialect, type[BaseModel]] = {Dialect.BATTERY_PACK: ConsoleError, Dialect.ERP: ErpError,
                                               Dialect.AEROSPACE: AerospaceError, Dialect.STOCK: StockError}
BATTERY_PACK_PATHS = ("/api/v1/skus", "/api/v1/batches", "/api/v1/modules", "/api/v1/packs")


def dialect_router(dialect: Dialect, **kwargs: Any) -> APIRouter:
    """An APIRouter whose routes carry `dialect`, so errors raised anywhere in them render in it."""

    class DialectRoute(APIRoute):
        def __init__(self, *args: Any, **route_kwargs: Any) -> None:
            if is_plain_function(route_kwargs.get("endpoint")):
                route_kwargs["endpoint"] = on_worker_thread(route_kwargs["endpoint"])
            super().__init__(*args, **route_kwargs)
            self.dialect = dialect

    kwargs.setdefault("responses", error_responses(ERROR_MODELS[dialect]))
    return APIRouter(route_class=DialectRoute, **kwargs)


def is_plain_function(endpoint: Any) -> bool:
    return inspect.isfunction(endpoint) and not (inspect.iscoroutinefunction(endpoint)
                                                 or inspect.isgeneratorfunction(endpoint)
                                                 or inspect.isasyncgenfunction(endpoint))


def on_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The `def` endpoint as an `async def` that runs it on a worker thread, as FastAPI would. Why: FastAPI
    also checks a `def` endpoint's return value against its annotation (`-> Any` here) on a worker thread,
    a second hop per request (measured: about 0.1 ms of CPU); an async endpoint's it checks on the event
    loop. The signature, name and docstring are the endpoint's (functools.wraps), so parameters,
    dependencies and OpenAPI are unchanged."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def dialect_for_path(path: str) -> Dialect:
    if any(_under(path, prefix) for prefix in BATTERY_PACK_PATHS):
        return Dialect.BATTERY_PACK
    if path.startswith("/api/") and not path.startswith("/api/v1/"):
        return Dialect.STOCK
    return Dialect.AEROSPACE


def dialect_of(request: Request) -> Dialect:
    """The request's own choice (a path two contracts share, answering in the form of the body it got),
    else the route's dialect, else the one of the path's prefix."""
    chosen = getattr(request.state, "dialect", None)
    if isinstance(chosen, Dialect):
        return chosen
    route = request.scope.get("route")
    return getattr(route, "dialect", None) or dialect_for_path(request.url.path)


def error_body(dialect: Dialect, code: str, status: int, message: str, details: Any) -> tuple[int, dict[str, Any]]:
    code = RENAMED_CODES.get(dialect, {}).get(code, code)
    status = RESTATED.get(dialect, {}).get(code, status)
    if dialect is Dialect.BATTERY_PACK:
        return status, {"success": False, "error": {"code": code, "message": message, "details": details}}
    if dialect is Dialect.ERP:
        return status, {"error": message, "code": code, "reason": details}
    if dialect is Dialect.STOCK:
        status_message = STOCK_STATUS_MESSAGES.get(code) or (
            HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error")
        return status, {"statusCode": status, "statusMessage": status_message,
                        "data": {"code": code, "message": message, "details": details}}
    body: dict[str, Any] = {"detail": message, "code": code}
    if details is not None:
        body["details"] = details
    return status, body


def render(request: Request, err: AppError) -> JSONResponse:
    status, body = error_body(dialect_of(request), err.code, err.status, err.message, err.details)
    return JSONResponse(body, status_code=status, headers=err.headers or None)


def _zod_message(error: dict[str, Any]) -> str:
    """The stock contract's front end shows Zod's wording (`Number must be greater than 0`)."""
    ctx = error.get("ctx") or {}
    wording = {"greater_than": "Number must be greater than {gt}",
               "greater_than_equal": "Number must be greater than or equal to {ge}",
               "less_than_equal": "Number must be less than or equal to {le}", "missing": "Required",
               "string_too_short": "String must contain at least {min_length} character(s)",
               "too_short": "Array must contain at least {min_length} element(s)",
               "decimal_max_places": "Number must have at most {decimal_places} decimal places"}.get(error["type"])
    try:
        return wording.format(**ctx) if wording else str(error["msg"])
    except (KeyError, IndexError):
        return str(error["msg"])


def _zod_path(loc: tuple[Any, ...]) -> list[Any]:
    """Zod's path starts inside what it validated: no `body`, `query` or `path` in front."""
    return list(loc[1:]) if loc and loc[0] in ("body", "query", "path") else list(loc)


def _validation_details(dialect: Dialect, exc: RequestValidationError) -> Any:
    errors = exc.errors()
    if dialect is Dialect.STOCK:
        return [{"path": _zod_path(tuple(e["loc"])), "message": _zod_message(e)} for e in errors]
    return [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in errors]


def render_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    dialect = dialect_of(request)
    if dialect is Dialect.AEROSPACE:
        safe = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse({"detail": safe, "code": "VALIDATION_ERROR"}, status_code=422)
    details = _validation_details(dialect, exc)
    if dialect is Dialect.ERP:
        return JSONResponse({"error": "Validation failed", "details": details}, status_code=400)
    message = "Invalid request data" if dialect is Dialect.STOCK else "Input data invalid"
    status, body = error_body(dialect, "VALIDATION_ERROR", 422, message, details)
    return JSONResponse(body, status_code=status)


HTTP_CODES = {401: "NOT_AUTHENTICATED", 403: "ACCESS_DENIED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
              413: "PAYLOAD_TOO_LARGE"}


def render_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    status, body = error_body(dialect_of(request), code, exc.status_code, message, None)
    return JSONResponse(body, status_code=status, headers=getattr(exc, "headers", None))


def render_unexpected(request: Request, exc: BaseException) -> JSONResponse:
    """Anything no handler took: a failure of a part (the database, Temporal) is a 503 with `Retry-After`, a
    value the database refused is the caller's error (422 or 409), and only the rest is a 500."""
    known = classify_failure(exc)
    if known is None:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        status, body = error_body(dialect_of(request), "INTERNAL_ERROR", 500, "Internal server error", None)
        return JSONResponse(body, status_code=status)
    if known.status == 503:
        log.warning("%s on %s %s: %s", known.code, request.method, request.url.path, exc)
    status, body = error_body(dialect_of(request), known.code, known.status, known.message, known.details)
    return JSONResponse(body, status_code=status, headers=known.headers or None)


def classify_failure(exc: BaseException) -> AppError | None:
    """The AppError an escaped exception stands for, or None for a defect."""
    if isinstance(exc, DBAPIError):
        return database_failure(exc)
    if isinstance(exc, SQLAlchemyTimeoutError):
        return unavailable("The database is busy (no connection free); try again")
    if isinstance(exc, RPCError) or (isinstance(exc, RuntimeError) and "client connect" in str(exc).lower()):
        return unavailable("The lifecycle service (Temporal) is unavailable; try again")
    return refused_data(exc)


def database_failure(exc: DBAPIError) -> AppError | None:
    """A pooled connection PostgreSQL closed (a restart, a killed backend: SQLAlchemy has replaced the pool,
    so the same request will very likely succeed at once), PostgreSQL down, or a value it refused."""
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return unavailable("The database is unavailable; try again")
    refused = refused_data(exc)
    if refused is not None:
        return refused
    code = getattr(exc.orig, "sqlstate", None) or ""
    if code.startswith(("08", "53", "57")):  # connection, resources, operator intervention (shutdown)
        return unavailable("The database is unavailable; try again")
    return None


def unavailable(message: str) -> AppError:
    err = AppError("SERVICE_UNAVAILABLE", 503, message)
    err.headers["Retry-After"] = "1"
    return err


def install_error_handlers(app: Any) -> None:
    handlers: dict[Any, Callable[..., Any]] = {
        AppError: render,
        RequestValidationError: render_validation,
        StarletteHTTPException: render_http,
    }  # everything else: api/middleware/error_guard.py, outside every middleware, so no exception escapes the app
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
