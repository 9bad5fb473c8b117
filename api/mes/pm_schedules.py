"""`/api/v1/pm-schedules` (manufacturing-erp.md §6.7: the list is the contract's; create, change, delete, read one
and trigger are additions): each PM schedule owns a Temporal Schedule `pm-schedule-{id}` kept in step here
(api/mes/maintenance_calls.py). Services: services/mes/pm_schedules.py."""

from typing import Annotated

from fastapi import Depends, Request, Response

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.mes.maintenance_calls import (
    create_pm_schedule,
    delete_pm_schedule,
    set_pm_schedule_active,
    trigger_pm_schedule,
)
from api.mes.maintenance_schemas import PmScheduleChange, PmScheduleCreate, PmScheduleListOut, PmScheduleOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import pm_schedules

router = dialect_router(Dialect.ERP, prefix="/api/v1/pm-schedules", tags=["erp: maintenance"])
Manager = require(Perm.MANAGE_PM)


@router.get("", dependencies=[require(Perm.VIEW_EQUIPMENT)])
def list_pm_schedules(session: SessionDep, paging: Annotated[ErpPaging, Depends()], machine_id: DbId | None = None,
                      overdue_only: bool = False) -> PmScheduleListOut:
    rows, total = pm_schedules.list_schedules(session, machine_id=machine_id, overdue_only=overdue_only,
                                              offset=paging.offset, limit=paging.per_page)
    return PmScheduleListOut(pm_schedules=[PmScheduleOut(**row) for row in rows], total=total, page=paging.page,
                             per_page=paging.per_page)


@router.post("", status_code=201)
async def create(body: PmScheduleCreate, request: Request, client: TemporalDep,
                 user: Principal = Manager) -> PmScheduleOut:
    """The schedule, then its Temporal Schedule; if that cannot be made, the schedule is taken back."""
    with field_errors():
        schedule_id = await in_transaction(request, lambda s: pm_schedules.create(s, user.id, body.model_dump()).id)
    try:
        await create_pm_schedule(client, schedule_id, body.is_active)
    except Exception:
        await in_transaction(request, pm_schedules.delete, user.id, schedule_id)
        raise
    return await _read(request, schedule_id)


@router.get("/{schedule_id}", dependencies=[require(Perm.VIEW_EQUIPMENT)])
async def get_pm_schedule(schedule_id: DbId, request: Request) -> PmScheduleOut:
    return await _read(request, schedule_id)


@router.patch("/{schedule_id}")
async def change(schedule_id: DbId, body: PmScheduleChange, request: Request, client: TemporalDep,
                 user: Principal = Manager) -> PmScheduleOut:
    changes = body.model_dump(exclude_unset=True)
    with field_errors():
        await in_transaction(request, pm_schedules.update, user.id, schedule_id, changes)
    if "is_active" in changes:
        await set_pm_schedule_active(client, schedule_id, bool(changes["is_active"]))
    return await _read(request, schedule_id)


@router.delete("/{schedule_id}", status_code=204, response_class=Response)
async def delete(schedule_id: DbId, request: Request, client: TemporalDep, user: Principal = Manager) -> Response:
    """The schedule and its Temporal Schedule; its PM work orders stay (no longer linked to it)."""
    await in_transaction(request, pm_schedules.delete, user.id, schedule_id)
    await delete_pm_schedule(client, schedule_id)
    return Response(status_code=204)


@router.post("/{schedule_id}/trigger", status_code=202, dependencies=[Manager])
async def trigger(schedule_id: DbId, request: Request, client: TemporalDep) -> PmScheduleOut:
    """Run the schedule's check now (the Temporal Schedule's own trigger): inside the lead time it raises the PM
    work order of the due date, once."""
    schedule = await _read(request, schedule_id)
    await trigger_pm_schedule(client, schedule_id)
    return schedule


async def _read(request: Request, schedule_id: int) -> PmScheduleOut:
    rows = await in_transaction(request, lambda s: pm_schedules.render(s, [pm_schedules.get(s, schedule_id)]))
    return PmScheduleOut(**rows[0])
