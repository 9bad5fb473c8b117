"""What the stock services of items, suppliers, periods and POB share: records found by their `uid` (an
unknown or malformed id is 404 NOT_FOUND), and the stock contract's errors for a field that fails a
business rule (400 VALIDATION_ERROR, details `[{"path", "message"}]`) and for a duplicate (409
DUPLICATE_ENTRY). Never commits."""

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.catalog import Material, Supplier
from models.stock import Location

T = TypeVar("T")
ACTIVE = "active"  # the status of an active item (a material) and of an active supplier


def as_uuid(value: str | uuid.UUID, label: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise not_found(label, value) from None


def by_uid(session: Session, model: type[T], uid: str | uuid.UUID, label: str, lock: bool = False,
           share: bool = False) -> T:
    """The row whose `uid` is `uid`; `lock` takes it FOR UPDATE, `share` FOR SHARE."""
    query = select(model).where(model.uid == as_uuid(uid, label))  # type: ignore[attr-defined]
    if lock or share:
        query = query.with_for_update(read=share and not lock)
    row = session.scalars(query).first()
    if row is None:
        raise not_found(label, uid)
    return row


def invalid_field(path: list[Any], message: str) -> AppError:
    """A field that passed the schema but breaks a business rule, as the contract's validation error."""
    return AppError("VALIDATION_ERROR", 400, "Invalid request data", [{"path": path, "message": message}])


def duplicate_entry(label: str, field: str, value: object) -> AppError:
    return AppError("DUPLICATE_ENTRY", 409, f"{label} {value} already exists", {"field": field, "value": value})


def in_use(code: str, label: str, name: str, used_by: list[str]) -> AppError:
    return AppError(code, 409, f"{label} {name} is in use and cannot be deleted", {"used_by": used_by})


def ensure_postable(location: Location, items: Sequence[Material] = (), supplier: Supplier | None = None) -> None:
    """A new document names only active records: a deactivated location takes no postings (400 INVALID_STATUS),
    and an inactive item or supplier is refused as the field that names it (400 VALIDATION_ERROR)."""
    if not location.is_active:
        raise AppError("INVALID_STATUS", 400, f"Location {location.code} is inactive; nothing can be posted there",
                       {"location": location.code, "status": "INACTIVE"})
    problems = [{"path": ["lines", index, "item_id"], "message": f"Item {item.code} is inactive"}
                for index, item in enumerate(items) if item.status != ACTIVE]
    if supplier is not None and supplier.status != ACTIVE:
        problems.insert(0, {"path": ["supplier_id"], "message": f"Supplier {supplier.code} is inactive"})
    if problems:
        raise AppError("VALIDATION_ERROR", 400, "Invalid request data", problems)
