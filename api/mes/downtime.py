"""`/api/v1/downtime-reasons` (list and create: additions) and `/api/v1/downtime-events` (manufacturing-erp.md §6.7):
why machines stand still, and downtime logged afterwards with the machine's MTBF and MTTR. Services:
services/mes/downtime.py, utilization.py."""

from typing import Annotated

from fastapi import Depends

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.deps import SessionDep, require
from api.mes.equipment_schemas import (
    DowntimeEventCreate,
    DowntimeEventOut,
    DowntimeReasonCreate,
    DowntimeReasonListOut,
    DowntimeReasonOut,
)
from core.permissions import Perm
from core.settings import get_settings
from core.timeutil import utcnow
from services.identity import Principal
from services.mes import downtime
from services.mes.utilization import minutes

router = dialect_router(Dialect.ERP, prefix="/api/v1", tags=["erp: equipment"])


@router.get("/downtime-reasons", dependencies=[require(Perm.VIEW_EQUIPMENT)])
def list_downtime_reasons(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                          active_only: bool = False) -> DowntimeReasonListOut:
    rows, total = downtime.list_reasons(session, paging.offset, paging.per_page, active_only)
    return DowntimeReasonListOut(downtime_reasons=[DowntimeReasonOut.model_validate(r, from_attributes=True)
                                                   for r in rows],
                                 total=total, page=paging.page, per_page=paging.per_page)


@router.post("/downtime-reasons", status_code=201)
def create_downtime_reason(body: DowntimeReasonCreate, session: SessionDep,
                           user: Principal = require(Perm.MANAGE_EQUIPMENT)) -> DowntimeReasonOut:
    """A new reason (`is_planned`: it does not count against MTBF and MTTR); a code already used is the contract's
    validation failure on `code`."""
    with field_errors():
        return DowntimeReasonOut.model_validate(downtime.create_reason(session, user.id, body.model_dump()),
                                                from_attributes=True)


@router.post("/downtime-events", status_code=201)
def log_downtime(body: DowntimeEventCreate, session: SessionDep,
                 user: Principal = require(Perm.LOG_DOWNTIME)) -> DowntimeEventOut:
    """A past downtime of a machine with both its times; the answer carries the machine's MTBF and MTTR over the
    last MAINTENANCE_METRICS_DAYS, this event included."""
    with field_errors():
        logged = downtime.log_event(session, user.id, body.model_dump(), utcnow(),
                                    get_settings().maintenance_metrics_days)
    event = logged.event
    return DowntimeEventOut(id=event.id, machine_id=event.machine_id, machine_name=logged.machine.name,
                            work_order_id=event.work_order_id, downtime_reason=logged.reason.name,
                            downtime_reason_code=logged.reason.code,
                            duration_minutes=minutes(body.ended_at - body.started_at), started_at=body.started_at,
                            ended_at=body.ended_at, notes=event.notes, mtbf_hours=logged.reliability.mtbf_hours,
                            mttr_hours=logged.reliability.mttr_hours)
