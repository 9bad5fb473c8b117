"""Guards every mutation shares: row locks, versions, status checks, serials, applied operations."""

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.operations import AppliedOperation, SerialNumber

T = TypeVar("T")


def locked(session: Session, model: type[T], entity_id: int, label: str) -> T:
    """The row, locked FOR UPDATE for the rest of the transaction; 404 if missing."""
    row = session.scalars(select(model).where(model.id == entity_id).with_for_update()).first()  # type: ignore[attr-defined]
    if row is None:
        raise not_found(label, entity_id)
    return row


def field_error(field: str, message: str) -> AppError:
    """A refusal of one field of the request (`bom.0.material_id`): the ERP renders it as its validation failure
    (`{"error": "Validation failed", "details": [{"field", "message"}]}`, api/contracts/erp.py)."""
    return AppError("VALIDATION_ERROR", 400, message, {"field": field})


def check_version(entity: Any, expected: int | None, label: str) -> None:
    if expected is not None and entity.version != expected:
        raise AppError("VERSION_CONFLICT", 409, f"{label} {entity.id} was changed by someone else",
                       {"id": entity.id, "expected_version": expected, "current_version": entity.version})


def require_status(entity: Any, allowed: Iterable[str], label: str, action: str) -> None:
    allowed = list(allowed)
    if entity.status not in allowed:
        raise AppError("WORKFLOW_VIOLATION", 409,
                       f"Cannot {action} {label.lower()} {entity.id} in status {entity.status}",
                       {"id": entity.id, "status": entity.status, "allowed_from": allowed, "action": action})


def register_serial(session: Session, serial: str, kind: str) -> None:
    """Claim a serial for the whole system; any earlier use of it, of any kind, is a 409."""
    claimed = session.execute(pg_insert(SerialNumber).values(serial=serial, kind=kind)
                              .on_conflict_do_nothing().returning(SerialNumber.serial)).first()
    if claimed is None:
        owner = session.scalar(select(SerialNumber.kind).where(SerialNumber.serial == serial))
        raise AppError("DUPLICATE_SERIAL", 409, f"Serial number {serial} is already in use",
                       {"serial_number": serial, "used_by": owner})


def claim_operation(session: Session, op_key: str) -> bool:
    """True the first time `op_key` is seen; False if that effect was already committed."""
    claimed = session.execute(pg_insert(AppliedOperation).values(key=op_key).on_conflict_do_nothing()
                              .returning(AppliedOperation.key)).first()
    return claimed is not None

