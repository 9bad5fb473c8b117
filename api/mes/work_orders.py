"""`/api/v1/work-orders` (manufacturing-erp.md §6.2: `start` is the contract's; create, list, detail, the other
transitions and the production-log list are additions): one lifecycle `work-order-{id}` each
(workflows/mes/work_order.py). Services: services/mes/work_orders.py, work_order_reads.py."""

from typing import Annotated

from fastapi import Depends, Query, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.mes.work_order_calls import create_work_order, move_work_order, set_dependencies
from api.mes.work_order_schemas import (
    DependenciesIn,
    ProductionLogEntryOut,
    ProductionLogListOut,
    StartedOut,
    WorkOrderCreate,
    WorkOrderListOut,
    WorkOrderOut,
    WorkOrderSummaryOut,
)
from api.transitions import TransitionBody
from core.permissions import Perm
from dto.mes import WorkOrderStatus
from services.identity import Principal
from services.mes import work_order_reads

router = dialect_router(Dialect.ERP, prefix="/api/v1/work-orders", tags=["erp: work orders"])
Viewer = require(Perm.VIEW_SHOP_FLOOR)


@router.post("", status_code=201)
async def create(body: WorkOrderCreate, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.MANAGE_WORK_ORDERS)) -> WorkOrderOut:
    with field_errors():
        work_order_id = await create_work_order(request, client, user, body.model_dump(mode="json"))
    return await _read(request, work_order_id)


@router.get("", dependencies=[Viewer])
def list_work_orders(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                     status: WorkOrderStatus | None = None, product_id: DbId | None = None,
                     search: SafeStr | None = Query(None, max_length=200)) -> WorkOrderListOut:
    rows, total = work_order_reads.list_work_orders(session, paging.offset, paging.per_page,
                                                    status=status.value if status else None,
                                                    product_id=product_id, search=search)
    return WorkOrderListOut(work_orders=[WorkOrderSummaryOut(**row) for row in rows], total=total,
                            page=paging.page, per_page=paging.per_page)


@router.get("/{work_order_id}", dependencies=[Viewer])
def get_work_order(work_order_id: DbId, session: SessionDep) -> WorkOrderOut:
    return WorkOrderOut(**work_order_reads.get_work_order(session, work_order_id))


@router.put("/{work_order_id}/dependencies")
async def replace_dependencies(work_order_id: DbId, body: DependenciesIn, request: Request, client: TemporalDep,
                               user: Principal = require(Perm.MANAGE_WORK_ORDERS)) -> WorkOrderOut:
    """What a planned or released work order waits for (replaces the list); a cycle is refused."""
    with field_errors():
        await set_dependencies(request, client, user, work_order_id, body.depends_on)
    return await _read(request, work_order_id)


@router.get("/{work_order_id}/production-logs", dependencies=[Viewer])
def list_production_logs(work_order_id: DbId, session: SessionDep,
                         paging: Annotated[ErpPaging, Depends()]) -> ProductionLogListOut:
    rows, total = work_order_reads.production_logs(session, work_order_id, paging.offset, paging.per_page)
    return ProductionLogListOut(production_logs=[ProductionLogEntryOut(**row) for row in rows], total=total,
                                page=paging.page, per_page=paging.per_page)


@router.post("/{work_order_id}/start")
async def start(work_order_id: DbId, request: Request, client: TemporalDep, user: Principal = Viewer,
                body: TransitionBody | None = None) -> StartedOut:
    await move_work_order(request, client, user, work_order_id, "start", body or TransitionBody())
    order = await _read(request, work_order_id)
    return StartedOut(id=order.id, work_order_number=order.work_order_number, status=order.status,
                      started_at=order.started_at, started_by=order.started_by)


def _transition_route(code: str) -> None:
    """`POST /api/v1/work-orders/{id}/<code>`: the transition (as through the §6.4 endpoint), answering the work
    order as it is after it."""

    async def move(work_order_id: DbId, request: Request, client: TemporalDep, user: Principal = Viewer,
                   body: TransitionBody | None = None) -> WorkOrderOut:
        await move_work_order(request, client, user, work_order_id, code, body or TransitionBody())
        return await _read(request, work_order_id)

    router.post(f"/{{work_order_id}}/{code}", name=f"{code}_work_order", summary=f"{code.capitalize()} a work order",
                response_model=WorkOrderOut)(move)


for _code in ("release", "complete", "hold", "resume", "cancel", "close"):
    _transition_route(_code)


async def _read(request: Request, work_order_id: int) -> WorkOrderOut:
    return WorkOrderOut(**await in_transaction(request, work_order_reads.get_work_order, work_order_id))
