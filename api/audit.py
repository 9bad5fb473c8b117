"""`GET /api/v1/audit-trail`: the system audit trail, newest first, for the audit permission."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, PageNumber, SafeStr
from api.contracts.wire import AerospacePage, UtcDateTime, WireModel, paged
from api.deps import SessionDep, require
from core.permissions import Perm
from models.audit import AuditEntry
from services import audit

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/audit-trail", tags=["audit"])


class AuditEntryOut(WireModel):
    """One data-changing call: who (`actor_id`, null for the system), what, when, the change and where from."""

    id: int
    actor_id: int | None
    entity_type: str
    entity_id: str
    action_type: str
    timestamp: UtcDateTime
    payload_diff: dict[str, Any]
    ip_address: str | None
    request: str | None


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut.model_validate(entry)


def _as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone means UTC (as every timestamp this API writes), not the database's zone."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("", dependencies=[require(Perm.VIEW_AUDIT_LOGS)])
def list_audit_trail(session: SessionDep, entity_type: SafeStr | None = None, entity_id: SafeStr | None = None,
                     actor_id: DbId | None = None, action_type: SafeStr | None = None,
                     since: datetime | None = Query(None, alias="from"),
                     until: datetime | None = Query(None, alias="to"),
                     page: PageNumber = 1, page_size: int = Query(50, ge=1, le=500)) -> AerospacePage[AuditEntryOut]:
    rows, total = audit.search(session, (page - 1) * page_size, page_size, entity_type=entity_type,
                                     entity_id=entity_id, actor_id=actor_id, action_type=action_type,
                                     since=_as_utc(since), until=_as_utc(until))
    return AerospacePage[AuditEntryOut].model_validate(paged([entry_out(r) for r in rows], total, page, page_size))
