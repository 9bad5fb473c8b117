"""Reading the audit trail."""

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.audit import AuditEntry
from services.common.queries import given


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
