"""`/api/v1/pm-work-orders` (manufacturing-erp.md §6.7: the create is the contract's; list, detail and the
checklist are additions): each a lifecycle `pm-work-order-{id}`, moved through
`POST /api/v1/workflows/pm_work_order/{id}/transition/{code}`. Services: services/mes/pm_work_orders.py."""

from typing import Annotated

from fastapi import Depends, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.mes.maintenance_calls import start_pm_lifecycle
from api.mes.maintenance_schemas import (
    ChecklistTick,
    PmWorkOrderCreate,
    PmWorkOrderDetailOut,
    PmWorkOrderListOut,
    PmWorkOrderOut,
)
from core.permissions import Perm
from services.identity import Principal
from services.mes import pm_work_orders

router = dialect_router(Dialect.ERP, prefix="/api/v1/pm-work-orders", tags=["erp: maintenance"])
Viewer = require(Perm.VIEW_EQUIPMENT)


@router.post("", status_code=201)
async def create(body: PmWorkOrderCreate, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.MANAGE_PM)) -> PmWorkOrderOut:
    with field_errors():
        order_id = await in_transaction(request, lambda s: pm_work_orders.create(s, user.id, body.model_dump()).id)
    await start_pm_lifecycle(client, order_id)
    return PmWorkOrderOut(**await in_transaction(request, lambda s: pm_work_orders.render(
        s, pm_work_orders.get(s, order_id))))


@router.get("", dependencies=[Viewer])
def list_pm_work_orders(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                        status: SafeStr | None = None, machine_id: DbId | None = None,
                        pm_schedule_id: DbId | None = None,
                        assigned_technician_id: DbId | None = None) -> PmWorkOrderListOut:
    rows, total = pm_work_orders.list_orders(session, paging.offset, paging.per_page, status=status,
                                             machine_id=machine_id, pm_schedule_id=pm_schedule_id,
                                             assigned_technician_id=assigned_technician_id)
    return PmWorkOrderListOut(pm_work_orders=[PmWorkOrderOut(**row) for row in rows], total=total,
                              page=paging.page, per_page=paging.per_page)


@router.get("/{pm_work_order_id}", dependencies=[Viewer])
def get_pm_work_order(pm_work_order_id: DbId, session: SessionDep) -> PmWorkOrderDetailOut:
    return PmWorkOrderDetailOut(**pm_work_orders.render(session, pm_work_orders.get(session, pm_work_order_id),
                                                        with_history=True))


@router.patch("/{pm_work_order_id}/checklist/{item_id}")
def tick_checklist_item(pm_work_order_id: DbId, item_id: DbId, body: ChecklistTick, session: SessionDep,
                        user: Principal = require(Perm.WORK_PM)) -> PmWorkOrderOut:
    pm_work_orders.tick(session, user.id, pm_work_order_id, item_id, body.completed)
    return PmWorkOrderOut(**pm_work_orders.render(session, pm_work_orders.get(session, pm_work_order_id)))
