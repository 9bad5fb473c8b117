"""`/api/v1/purchase-orders`: purchase orders, each a `purchase-order-{id}` workflow whose approval is a
child workflow of the approval engine. Draft edits are guarded direct writes."""

from datetime import date
from typing import Any

from fastapi import Query, Request

from api.approvals.decisions import decide, open_step
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, PageNumber, SafeStr
from api.contracts.wire import paged
from api.deps import SessionDep, TemporalDep, actor_of, in_transaction, require
from api.procurement import purchase_order_calls
from api.procurement.purchase_order_calls import rendered, run_command, settle_po
from api.procurement.schemas.purchase_orders import (
    ApprovalBody,
    LineItem,
    LineItemUpdate,
    PurchaseOrderCreate,
    PurchaseOrderDeletedOut,
    PurchaseOrderEventOut,
    PurchaseOrderOut,
    PurchaseOrderPage,
    PurchaseOrderSummaryOut,
    PurchaseOrderUpdate,
    SubmitBody,
)
from core.errors import AppError, workflow_violation
from core.permissions import Perm
from dto.approvals import ApprovalAction, Decision
from dto.procurement import PoCommand, PoStatus
from services.approvals import engine as approvals
from services.identity import Principal
from services.procurement import purchase_order_reads, purchase_orders
from workflows.procurement.purchase_order import PurchaseOrderWorkflow

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/purchase-orders", tags=["purchase orders"])


@router.get("", dependencies=[require(Perm.PO_VIEW)], response_model=PurchaseOrderPage)
def list_purchase_orders(session: SessionDep, page: PageNumber = 1, page_size: int = Query(20, ge=1, le=100),
                         status: PoStatus | None = None, priority: SafeStr | None = None,
                         supplier_id: DbId | None = None,
                         from_date: date | None = None, to_date: date | None = None,
                         search: SafeStr | None = Query(None, max_length=100)) -> Any:
    rows, total = purchase_order_reads.search(session, (page - 1) * page_size, page_size, status=status,
                                              priority=priority, supplier_id=supplier_id, from_date=from_date,
                                              to_date=to_date, text=search)
    return paged(purchase_order_reads.render_many(session, list(rows)), total, page, page_size)


@router.get("/summary", dependencies=[require(Perm.PO_VIEW)], response_model=PurchaseOrderSummaryOut)
def summary(session: SessionDep) -> Any:
    return purchase_order_reads.summary(session)


@router.get("/{po_id}", dependencies=[require(Perm.PO_VIEW)], response_model=PurchaseOrderOut)
def get_purchase_order(po_id: DbId, session: SessionDep) -> Any:
    return purchase_order_reads.render(session, purchase_orders.get_po(session, po_id))


@router.get("/{po_id}/history", dependencies=[require(Perm.PO_VIEW)],
            response_model=list[PurchaseOrderEventOut])
def history(po_id: DbId, session: SessionDep) -> Any:
    return purchase_orders.history(session, po_id)


@router.post("", status_code=201, response_model=PurchaseOrderOut)
async def create_purchase_order(body: PurchaseOrderCreate, request: Request, client: TemporalDep,
                                user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await purchase_order_calls.create_purchase_order(request, client, user, body,
                                                            render=purchase_order_reads.render)


@router.put("/{po_id}", response_model=PurchaseOrderOut)
async def update_purchase_order(po_id: DbId, body: PurchaseOrderUpdate, request: Request,
                                user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    update = _rendered(purchase_orders.update_header)
    return await in_transaction(request, update, po_id, changes, user.id, body.version)


def _rendered(change: Any) -> Any:
    """A draft edit that answers the PO as rendered after the change."""

    def run(session: Any, *args: Any) -> dict[str, Any]:
        return purchase_order_reads.render(session, change(session, *args))

    return run


@router.post("/{po_id}/items", status_code=201, response_model=PurchaseOrderOut)
async def add_line_item(po_id: DbId, body: LineItem, request: Request,
                        user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await in_transaction(request, _rendered(purchase_orders.add_line), po_id, body.model_dump(), user.id)


@router.put("/{po_id}/items/{item_id}", response_model=PurchaseOrderOut)
async def update_line_item(po_id: DbId, item_id: DbId, body: LineItemUpdate, request: Request,
                           user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await in_transaction(request, _rendered(purchase_orders.update_line), po_id, item_id,
                                body.model_dump(exclude_unset=True), user.id)


@router.delete("/{po_id}/items/{item_id}", response_model=PurchaseOrderOut)
async def delete_line_item(po_id: DbId, item_id: DbId, request: Request,
                           user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await in_transaction(request, _rendered(purchase_orders.delete_line), po_id, item_id, user.id)


@router.delete("/{po_id}", response_model=PurchaseOrderDeletedOut)
async def delete_purchase_order(po_id: DbId, request: Request, client: TemporalDep,
                                user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    view = await run_command(request, client, po_id, PurchaseOrderWorkflow.discard,
                             PoCommand(action="delete", actor=actor_of(user, request)))
    return {"message": f"Purchase order {view.po_number} deleted"}


@router.post("/{po_id}/submit", response_model=PurchaseOrderOut)
async def submit(po_id: DbId, request: Request, client: TemporalDep, body: SubmitBody | None = None,
                 user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    command = PoCommand(action="submit", actor=actor_of(user, request),
                        expected_version=body.version if body else None,
                        payload={"notes": body.notes if body else None})
    await run_command(request, client, po_id, PurchaseOrderWorkflow.submit, command)
    return await rendered(request, po_id)


def _pending_step(session: Any, po_id: int, body: ApprovalBody) -> tuple[int, int, str | None]:
    """The approval instance and step a decision on this PO decides (and the workflow that decides it), or
    why there is none to decide."""
    po = purchase_orders.get_po(session, po_id)
    if po.status != PoStatus.PENDING_APPROVAL or po.approval_instance_id is None:
        raise workflow_violation(f"Purchase order {po.po_number} is {po.status}, not pending approval",
                                 {"status": po.status})
    if body.action != ApprovalAction.APPROVED and not body.comments:
        raise AppError("VALIDATION_ERROR", 422, f"A {body.action.value} decision needs comments",
                       [{"loc": ["body", "comments"], "msg": "Field required", "type": "missing"}])
    instance = approvals.get_instance(session, po.approval_instance_id)
    return instance.id, instance.current_step, instance.workflow_id


def _approval_of(session: Any, po_id: int) -> tuple[int | None, str | None]:
    """The PO's approval instance (open or decided) and the workflow whose engine runs it."""
    po = purchase_orders.get_po(session, po_id)
    if po.approval_instance_id is None:
        return None, None
    return po.approval_instance_id, approvals.get_instance(session, po.approval_instance_id).workflow_id


@router.post("/{po_id}/approve", response_model=PurchaseOrderOut)
async def approve(po_id: DbId, body: ApprovalBody, request: Request, client: TemporalDep,
                  user: Principal = require(Perm.PO_VIEW)) -> Any:
    # read on a worker thread (never block the event loop), holding no connection while the lifecycle works
    step = await open_step(request, client, lambda session: _pending_step(session, po_id, body),
                           lambda session: _approval_of(session, po_id))
    if step is None:  # a retry of a decision that applied: answer as the first would
        return await rendered(request, po_id)
    instance_id, step_number, engine = step
    result = await decide(client, request, instance_id, Decision(action=body.action, comments=body.comments,
                                                                 actor=actor_of(user, request),
                                                                 step_number=step_number), engine)
    await settle_po(client, po_id, instance_id, result)
    return await rendered(request, po_id)


@router.post("/{po_id}/order", response_model=PurchaseOrderOut)
async def mark_ordered(po_id: DbId, request: Request, client: TemporalDep,
                       tracking_number: SafeStr | None = Query(None, max_length=100),
                       user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    command = PoCommand(action="order", actor=actor_of(user, request), payload={"tracking_number": tracking_number})
    await run_command(request, client, po_id, PurchaseOrderWorkflow.order, command)
    return await rendered(request, po_id)


@router.post("/{po_id}/cancel", response_model=PurchaseOrderOut)
async def cancel(po_id: DbId, request: Request, client: TemporalDep,
                 reason: SafeStr | None = Query(None, max_length=2000),
                 user: Principal = require(Perm.PO_CANCEL)) -> Any:
    command = PoCommand(action="cancel", actor=actor_of(user, request), payload={"reason": reason})
    await run_command(request, client, po_id, PurchaseOrderWorkflow.cancel, command)
    return await rendered(request, po_id)
