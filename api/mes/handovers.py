"""`/api/v1/shift-handovers` (manufacturing-erp.md §6.6: the create; the list, the detail and the acknowledgement are
additions): the notes one shift leaves the next. Each handover's lifecycle (`shift-handover-{id}`) starts after its
commit and reminds the supervisors when nobody acknowledges it within SHIFT_HANDOVER_ACK_SECONDS. Services:
services/mes/handovers.py; lifecycle calls: api/mes/handover_calls.py."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.mes.equipment_schemas import (
    HandoverIssueOut,
    PersonOut,
    ShiftHandoverCreate,
    ShiftHandoverListOut,
    ShiftHandoverOut,
    WipWorkOrderOut,
)
from api.mes.handover_calls import handover_acknowledged, start_handover_lifecycle
from core.permissions import Perm
from services.identity import Principal
from services.mes import handovers
from services.mes.handovers import Handover

router = dialect_router(Dialect.ERP, prefix="/api/v1/shift-handovers", tags=["erp: shifts"])
Viewer = require(Perm.VIEW_EQUIPMENT)


def handover_out(found: Handover) -> ShiftHandoverOut:
    row = found.row
    return ShiftHandoverOut(
        id=row.id, shift_id=row.shift_id, shift_name=found.shift_name, date=row.date,
        logged_by=PersonOut(**found.logged_by), handover_notes=row.handover_notes,
        wip_work_orders=[WipWorkOrderOut(**item) for item in row.wip_work_orders],
        issues=[HandoverIssueOut(**item) for item in row.issues],
        acknowledged_by=PersonOut(**found.acknowledged_by) if found.acknowledged_by else None,
        acknowledged_at=row.acknowledged_at, reminded_at=row.reminded_at, created_at=row.created_at)


@router.post("", status_code=201)
async def log_handover(body: ShiftHandoverCreate, request: Request, client: TemporalDep,
                       user: Principal = require(Perm.LOG_HANDOVERS)) -> ShiftHandoverOut:
    """The handover (operators, supervisors), then its lifecycle; a second one for the same shift and date is the
    contract's validation failure on `date`."""
    values = {**body.model_dump(), "wip_work_orders": [w.model_dump(mode="json") for w in body.wip_work_orders],
              "issues": [i.model_dump(mode="json") for i in body.issues]}
    with field_errors():
        found = await in_transaction(request, handovers.create, user.id, values)
    await start_handover_lifecycle(client, found.row.id, found.shift_name)
    return handover_out(found)


@router.get("", dependencies=[Viewer])
def list_handovers(session: SessionDep, paging: Annotated[ErpPaging, Depends()], shift_id: DbId | None = None,
                   day: Annotated[date | None, Query(alias="date")] = None) -> ShiftHandoverListOut:
    rows, total = handovers.list_handovers(session, paging.offset, paging.per_page, shift_id, day)
    return ShiftHandoverListOut(shift_handovers=[handover_out(h) for h in rows], total=total, page=paging.page,
                                per_page=paging.per_page)


@router.get("/{handover_id}", dependencies=[Viewer])
def get_handover(handover_id: DbId, session: SessionDep) -> ShiftHandoverOut:
    return handover_out(handovers.get_handover(session, handover_id))


@router.post("/{handover_id}/acknowledge")
async def acknowledge(handover_id: DbId, request: Request, client: TemporalDep,
                      user: Principal = require(Perm.LOG_HANDOVERS)) -> ShiftHandoverOut:
    """The next shift has read it (not who logged it; once); its lifecycle stops waiting."""
    found = await in_transaction(request, handovers.acknowledge, user.id, handover_id)
    await handover_acknowledged(client, handover_id, user.id)
    return handover_out(found)
