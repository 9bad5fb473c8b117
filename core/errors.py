"""One error type for the whole service; each router's dialect renders it (api/dialects.py)."""

from typing import Any


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
    "PERIOD_CLOSED": 400,
    "NO_OPEN_PERIOD": 400,
    "LOCATION_ACCESS_DENIED": 403,
}
