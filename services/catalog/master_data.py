"""What the master-data services share: the contract's value sets ("Quick Reference - Status Values"),
uniqueness, inserts and deletes that turn constraint violations into answers, updates with their audit row.
Never commits: the request's session does."""

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import AppError
from services import audit

T = TypeVar("T")

UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


class MaterialType(StrEnum):
    METAL = "metal"
    COMPOSITE = "composite"
    POLYMER = "polymer"
    CERAMIC = "ceramic"
    ALLOY = "alloy"
    COATING = "coating"
    ADHESIVE = "adhesive"
    OTHER = "other"


class MaterialStatus(StrEnum):
    ACTIVE = "active"
    DISCONTINUED = "discontinued"
    PENDING_APPROVAL = "pending_approval"
    RESTRICTED = "restricted"


class PartStatus(StrEnum):
    DESIGN = "design"
    PROTOTYPE = "prototype"
    PRODUCTION = "production"
    OBSOLETE = "obsolete"
    RESTRICTED = "restricted"


class PartCriticality(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    STANDARD = "standard"


class SupplierStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PENDING_APPROVAL = "pending_approval"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class SupplierTier(StrEnum):
    TIER_1 = "tier_1"
    TIER_2 = "tier_2"
    TIER_3 = "tier_3"


class CertificationType(StrEnum):
    AS9100 = "as9100"
    NADCAP = "nadcap"
    ISO9001 = "iso9001"
    MIL_SPEC = "mil_spec"
    AMS = "ams"
    ASTM = "astm"
    FAA = "faa"
    EASA = "easa"
    OTHER = "other"


class CertificationStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    PENDING = "pending"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


# --- errors ---------------------------------------------------------------------------------------------

def duplicate(label: str, field: str, value: object) -> AppError:
    return AppError("DUPLICATE_CODE", 409, f"{label} {value} already exists", {"field": field, "value": value})


def missing(label: str, entity_id: object, field: str) -> AppError:
    """An id named in a body that matches no record."""
    return AppError("NOT_FOUND", 404, f"{label} {entity_id} not found", {"id": str(entity_id), "field": field})


def invalid(field: str, message: str) -> AppError:
    return AppError("VALIDATION_ERROR", 422, message, {"field": field})


def in_use(code: str, label: str, entity_id: int, used_by: Sequence[str]) -> AppError:
    return AppError(code, 409, f"{label} {entity_id} is in use and cannot be deleted",
                    {"id": entity_id, "used_by": list(used_by)})


def _sqlstate(err: IntegrityError) -> str | None:
    return getattr(err.orig, "sqlstate", None)


def _table_of(err: IntegrityError) -> str:
    diag = getattr(err.orig, "diag", None)
    return getattr(diag, "table_name", None) or "other records"


# --- queries --------------------------------------------------------------------------------------------

def contains(text: str, *columns: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of `columns`; `%` and `_` in the text are literal."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def taken(session: Session, column: InstrumentedAttribute[Any], value: object, exclude_id: int | None = None) -> bool:
    model = column.class_
    query = select(model.id).where(column == value)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    return session.scalar(query.limit(1)) is not None


def exists(session: Session, model: type[Any], entity_id: int) -> bool:
    return session.scalar(select(model.id).where(model.id == entity_id)) is not None


# --- writes ---------------------------------------------------------------------------------------------

def columns_of(row: object) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns  # type: ignore[attr-defined]
            if c.key not in ("uid", "created_at", "updated_at")}


def insert(session: Session, row: T, on_duplicate: AppError, on_missing: AppError | None = None) -> T:
    """Insert in a savepoint: a unique index or a foreign key lost to a concurrent write is an answer,
    and the request's transaction stays usable."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as err:
        if _sqlstate(err) == FOREIGN_KEY_VIOLATION and on_missing is not None:
            raise on_missing from err
        raise on_duplicate from err
    session.refresh(row)  # the stored values (numbers at the column's scale), as a later read answers them
    return row


def flush_changes(session: Session, on_duplicate: AppError) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as err:
        raise on_duplicate from err


def delete(session: Session, row: object, refused: Callable[[str], AppError]) -> None:
    """Delete in a savepoint; a record that another table still references is refused, nothing removed."""
    try:
        with session.begin_nested():
            session.delete(row)
    except IntegrityError as err:
        if _sqlstate(err) != FOREIGN_KEY_VIOLATION:
            raise
        raise refused(_table_of(err)) from err


def settable(row: object, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes to apply: an explicit null clears an optional column and is ignored for a required one."""
    table = row.__table__  # type: ignore[attr-defined]
    return {k: v for k, v in changes.items() if v is not None or table.c[k].nullable}


def apply_update(session: Session, actor_id: int, row: Any, changes: dict[str, Any], entity_type: str,
                 action_type: str, on_duplicate: AppError | None = None) -> dict[str, Any]:
    """Set the changes, bump the version, flush, and write the audit row; answers the diff."""
    before = columns_of(row)
    for field, value in changes.items():
        setattr(row, field, value)
    if hasattr(row, "version"):
        row.version += 1
    if on_duplicate is not None:
        flush_changes(session, on_duplicate)
    else:
        session.flush()
    session.refresh(row)
    changed = audit.diff(before, columns_of(row))
    audit.record(session, actor_id=actor_id, entity_type=entity_type, entity_id=row.id, action_type=action_type,
                 payload_diff=changed)
    return changed


def record_created(session: Session, actor_id: int, row: Any, entity_type: str, action_type: str) -> None:
    audit.record(session, actor_id=actor_id, entity_type=entity_type, entity_id=row.id, action_type=action_type,
                 payload_diff=audit.created(columns_of(row)))


def record_deleted(session: Session, actor_id: int, snapshot: dict[str, Any], entity_type: str,
                   action_type: str) -> None:
    audit.record(session, actor_id=actor_id, entity_type=entity_type, entity_id=snapshot["id"],
                 action_type=action_type, payload_diff=audit.diff(snapshot, {}))
