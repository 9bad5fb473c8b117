"""The audit trail: one `system_audit_trail` row per data-changing call, in the caller's transaction, with the
caller's IP and request when there is one (core/request_context.py); and reading it back."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import request_context
from models.audit import AuditEntry
from services.common.queries import given

SECRET_FIELDS = frozenset({"password", "password_hash", "new_password", "current_password", "token",
                           "access_token", "refresh_token", "refresh_jti"})


def json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Changed fields as `{field: {"old": …, "new": …}}`, secrets left out."""
    changed: dict[str, Any] = {}
    for field in sorted(set(old) | set(new)):
        if field in SECRET_FIELDS:
            continue
        before, after = old.get(field), new.get(field)
        if before != after:
            changed[field] = {"old": json_safe(before), "new": json_safe(after)}
    return changed


def created(values: dict[str, Any]) -> dict[str, Any]:
    return diff({}, values)


def record(session: Session, *, actor_id: int | None, entity_type: str, entity_id: object,
           action_type: str, payload_diff: dict[str, Any] | None = None) -> None:
    origin = request_context.current()
    session.add(AuditEntry(actor_id=actor_id, entity_type=entity_type, entity_id=str(entity_id),
                           action_type=action_type, payload_diff=json_safe(payload_diff or {}),
                           ip_address=origin.ip_address if origin else None,
                           request=origin.request if origin else None))


def _filtered(query: Select, entity_type: str | None, entity_id: str | None, actor_id: int | None,
              action_type: str | None, since: datetime | None, until: datetime | None) -> Select:
    query = query.where(*given(
        (entity_type, AuditEntry.entity_type == entity_type),
        (entity_id, AuditEntry.entity_id == entity_id),
        (actor_id, AuditEntry.actor_id == actor_id),
        (action_type, AuditEntry.action_type == action_type),
    ))
    if since is not None:
        query = query.where(AuditEntry.timestamp >= since)
    if until is not None:
        query = query.where(AuditEntry.timestamp <= until)
    return query


def search(session: Session, offset: int, limit: int, **filters: object) -> tuple[list[AuditEntry], int]:
    total = session.scalar(_filtered(select(func.count(AuditEntry.id)), **filters))  # type: ignore[arg-type]
    rows = session.scalars(_filtered(select(AuditEntry), **filters)  # type: ignore[arg-type]
                           .order_by(AuditEntry.timestamp.desc(), AuditEntry.id.desc()).offset(offset).limit(limit))
    return list(rows), int(total or 0)
