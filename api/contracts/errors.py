"""The error bodies of each contract's dialect as pydantic models (api/contracts/dialects.py `error_body` and
`render_validation` build them), so `/openapi.json` documents every route's error answers."""

from typing import Any

from pydantic import BaseModel


class AerospaceError(BaseModel):
    """`{"detail": "...", "code": "...", "details": ...}` (also the battery-RUL contract's `{"detail": ...}`). A
    validation error's `detail` is FastAPI's list of `{loc, msg, type}`."""

    detail: str | list[dict[str, Any]]
    code: str
    details: Any = None


class ConsoleErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ConsoleError(BaseModel):
    """The battery-pack console's envelope: `{"success": false, "error": {code, message, details}}`."""

    success: bool
    error: ConsoleErrorBody


class StockErrorData(BaseModel):
    code: str
    message: str
    details: Any = None


class StockError(BaseModel):
    """The stock contract's `{"statusCode", "statusMessage", "data": {code, message, details}}`; a validation
    error's details are Zod's `[{path, message}]`."""

    statusCode: int  # noqa: N815 - the contract's spelling
    statusMessage: str  # noqa: N815
    data: StockErrorData


class ErpError(BaseModel):
    """The ERP contract's `{"error", "code", "reason"}`; a validation error is `{"error", "details": [{field,
    message}]}`."""

    error: str
    code: str | None = None
    reason: Any = None
    details: list[dict[str, Any]] | None = None


ERROR_STATUSES = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
                  409: "Conflict with the current state", 422: "Invalid input", 429: "Too many requests",
                  503: "A part of the service is unavailable; retry after `Retry-After` seconds"}


def error_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a router whose errors render as `model`."""
    return {status: {"model": model, "description": description} for status, description in ERROR_STATUSES.items()}
