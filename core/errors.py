"""One error type for the whole service; each router's dialect renders it (api/contracts/dialects.py)."""

from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError


class AppError(Exception):
    def __init__(self, code: str, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details
        self.headers: dict[str, str] = {}


def not_found(entity: str, entity_id: object) -> AppError:
    return AppError("NOT_FOUND", 404, f"{entity} {entity_id} not found", {"id": str(entity_id)})


def access_denied(message: str = "Insufficient permissions") -> AppError:
    return AppError("ACCESS_DENIED", 403, message)


def unauthenticated(message: str = "Could not validate credentials") -> AppError:
    return AppError("NOT_AUTHENTICATED", 401, message)


def workflow_violation(message: str, details: Any = None) -> AppError:
    return AppError("WORKFLOW_VIOLATION", 409, message, details)


def validation_error(message: str, details: Any = None) -> AppError:
    return AppError("VALIDATION_ERROR", 422, message, details)


# Business error types a workflow or activity raises (ApplicationError.type) and their HTTP status.
LIFECYCLE_ERROR_STATUS: dict[str, int] = {
    "WORKFLOW_VIOLATION": 409,
    "VERSION_CONFLICT": 409,
    "ENTITY_LOCKED": 409,
    "DUPLICATE_SERIAL": 409,
    "DUPLICATE_ENTRY": 409,
    "ALREADY_DECIDED": 409,
    "SELF_APPROVAL": 403,
    "APPROVAL_LIMIT_EXCEEDED": 403,
    "INSUFFICIENT_STOCK": 400,
    "OVER_RECEIPT": 400,
    "ACCESS_DENIED": 403,
    "NOT_FOUND": 404,
    "VALIDATION_ERROR": 422,
    "INVALID_STATUS": 400,
    "DEPENDENCIES_NOT_MET": 400,
    "CHECKLIST_OPEN": 400,
    "PERIOD_CLOSED": 400,
    "NO_OPEN_PERIOD": 400,
    "LOCATION_ACCESS_DENIED": 403,
}


def refused_data(exc: BaseException) -> AppError | None:
    """The caller's error a database refusal stands for when the data caused it (SQLSTATE class 22: a number
    out of range, a string too long, NUL in text; class 23: a duplicate, a missing referenced row, a NOT NULL or
    CHECK rule; text UTF-8 cannot encode), else None: the same data would fail the same way every time, so it
    is never retried (activities/failures.py) and never a 500 (api/contracts/dialects.py)."""
    if isinstance(exc, UnicodeError):  # an unpaired surrogate
        return _refused("VALIDATION_ERROR", 422, "A value in the request is out of range or not valid text", "22021")
    if not isinstance(exc, DBAPIError):
        return None
    code = getattr(exc.orig, "sqlstate", None) or ""
    if code == "23505":
        return _refused("DUPLICATE_ENTRY", 409, "A record with these values already exists", code)
    if code.startswith("23") or isinstance(exc.orig, psycopg.IntegrityError):
        return _refused("VALIDATION_ERROR", 422, "The request refers to a record that does not exist or breaks a "
                        "rule of the data", code)
    # Class 22, or psycopg's own refusal before sending (NUL in a string: a DataError without a code).
    if code.startswith("22") or isinstance(exc.orig, psycopg.DataError):
        return _refused("VALIDATION_ERROR", 422, "A value in the request is out of range or not valid text", code)
    return None


def _refused(code: str, status: int, message: str, sqlstate: str) -> AppError:
    return AppError(code, status, message, {"sqlstate": sqlstate} if sqlstate else None)
