"""Orders (`/api/v1/orders`) are purchase orders seen through the aerospace contract's simple "Orders" section:
the same rows, the same `purchase-order-{id}` lifecycle, the same approval engine. This module holds what
the orders router needs on top of the PO code: the shared create (update-with-start, the same code path
and idempotency scope as `POST /purchase-orders`), the Order rendering, the status mapping in filters, the
draft-only guard worded for orders, and the approval decision."""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.approvals.decisions import decide
from api.deps import actor_of, in_transaction
from api.procurement.purchase_order_calls import run_command, settle_po
from api.procurement.schemas.orders import PO_STATUSES_OF, OrderItemOut, OrderOut, OrderStatus, order_status
from core.errors import AppError, not_found, workflow_violation
from dto.approvals import ApprovalAction, Decision
from dto.procurement import PoCommand, PoResult, PoStatus
from models.procurement import GoodsReceipt, PurchaseOrder, PurchaseOrderLine
from services.approvals import engine as approvals
from services.common.guards import locked
from services.identity import Principal
from services.procurement import purchase_orders

T = TypeVar("T")

DELIVERED = (PoStatus.RECEIVED, PoStatus.CLOSED)
GRN_ACCEPTED = "accepted"  # a goods receipt taken into stock: its receipt_date is a delivery date


# --- rendering ---------------------------------------------------------------------------------------------

def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _qty(value: Any) -> Decimal:
    return Decimal(str(value))


def _item(line: Mapping[str, Any]) -> OrderItemOut:
    return OrderItemOut(id=line["id"], order_id=line["purchase_order_id"], line_number=line["line_number"],
                        material_id=line["material_id"], quantity_ordered=line["quantity_ordered"],
                        quantity_received=line["quantity_received"], unit_of_measure=line["unit_of_measure"],
                        unit_price=line["unit_price"], total_price=line["total_price"],
                        is_fully_received=_qty(line["quantity_received"]) >= _qty(line["quantity_ordered"]),
                        expected_delivery_date=line["required_date"], specification_notes=line["specification"],
                        notes=line["notes"])


def order_out(po: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], delivered: date | None) -> OrderOut:
    """A PO (its columns, as ORM values or as the PO rendering's JSON values) as the contract's Order.
    `order_date` is the PO date once the order is approved (null before); `actual_delivery_date` is
    `delivered` once it is received (null until then)."""
    status = order_status(po["status"])
    return OrderOut(
        id=po["id"], order_number=po["po_number"], supplier_id=po["supplier_id"], created_by=po["created_by_id"],
        status=status, priority=po["priority"], order_date=po["po_date"] if po["approved_at"] else None,
        expected_delivery_date=po["expected_delivery_date"],
        actual_delivery_date=delivered if status == OrderStatus.RECEIVED else None,
        subtotal=po["subtotal"], tax=po["tax_amount"], shipping_cost=po["shipping_cost"],
        discount=po["discount_amount"], total=po["total_amount"], currency=po["currency"],
        purchase_order_number=po["requisition_number"], shipping_method=po["shipping_method"],
        work_order_reference=po["work_order_reference"], requires_certification=po["requires_certification"],
        notes=po["notes"], version=po["version"], items=[_item(line) for line in lines],
        created_at=po["created_at"], updated_at=po["updated_at"],
    )


def render(session: Session, pos: Sequence[PurchaseOrder]) -> list[OrderOut]:
    """Orders with their items: one query for the items of the whole page, one for delivery dates."""
    ids = [po.id for po in pos]
    lines: dict[int, list[dict[str, Any]]] = {po_id: [] for po_id in ids}
    if ids:
        for line in session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id.in_(ids))
                                    .order_by(PurchaseOrderLine.purchase_order_id, PurchaseOrderLine.line_number)):
            lines[line.purchase_order_id].append(_columns(line))
    received = [po.id for po in pos if po.status in DELIVERED]
    delivered: dict[int, date] = {}
    if received:
        delivered = {po_id: day for po_id, day in session.execute(
            select(GoodsReceipt.purchase_order_id, func.max(GoodsReceipt.receipt_date))
            .where(GoodsReceipt.purchase_order_id.in_(received), GoodsReceipt.status == GRN_ACCEPTED)
            .group_by(GoodsReceipt.purchase_order_id)).tuples()}
    return [order_out(_columns(po), lines[po.id], delivered.get(po.id)) for po in pos]


def read_order(session: Session, order_id: int) -> OrderOut:
    po = session.get(PurchaseOrder, order_id)
    if po is None:
        raise not_found("Order", order_id)
    return render(session, [po])[0]


def rendered(session: Session, po: PurchaseOrder) -> OrderOut:
    return render(session, [po])[0]


def search(session: Session, offset: int, limit: int, *, status: OrderStatus | None, priority: str | None,
           supplier_id: int | None) -> tuple[list[PurchaseOrder], int]:
    """Orders newest first; an Order status filters on the PO statuses rendered as it (none for `shipped`
    and `on_hold`, which the PO lifecycle does not produce)."""
    filters: list[Any] = []
    if status is not None:
        statuses = PO_STATUSES_OF[status]
        if not statuses:
            return [], 0
        filters.append(PurchaseOrder.status.in_(statuses))
    if priority is not None:
        filters.append(PurchaseOrder.priority == priority)
    if supplier_id is not None:
        filters.append(PurchaseOrder.supplier_id == supplier_id)
    total = session.scalar(select(func.count(PurchaseOrder.id)).where(*filters)) or 0
    rows = session.scalars(select(PurchaseOrder).where(*filters).order_by(PurchaseOrder.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), int(total)


# --- draft edits ---------------------------------------------------------------------------------------------

def _draft(session: Session, order_id: int, action: str) -> PurchaseOrder:
    """The order, locked; a 409 naming its status unless it is a draft."""
    po = locked(session, PurchaseOrder, order_id, "Order")
    if po.status != PoStatus.DRAFT:
        status = order_status(po.status)
        raise workflow_violation(f"Cannot {action} order {po.po_number} in status {status}; only draft orders "
                                 f"can be changed", {"status": status})
    return po


def draft_edit(change: Callable[..., PurchaseOrder], action: str,
               item: bool = False) -> Callable[..., OrderOut]:
    """A PO draft edit (a `purchase_orders` service function taking the PO id first, then with `item` the line
    id) answering the Order."""

    def run(session: Session, order_id: int, *args: Any) -> OrderOut:
        _draft(session, order_id, action)
        if item:
            line = session.get(PurchaseOrderLine, args[0])
            if line is None or line.purchase_order_id != order_id:
                raise not_found("Order item", args[0])
        return rendered(session, change(session, order_id, *args))

    return run


# --- lifecycle transitions -----------------------------------------------------------------------------------

async def _order_error(request: Request, order_id: int, action: str, err: AppError) -> AppError:
    """A PO transition's refusal worded for the order (by code and details, never by message text)."""
    details = err.details if isinstance(err.details, dict) else {}
    if err.code == "NOT_FOUND" and details.get("id") == str(order_id):
        return not_found("Order", order_id)
    if err.code == "WORKFLOW_VIOLATION" and "status" in details:
        po = await in_transaction(request, lambda s: purchase_orders.find_po(s, order_id))
        if po is None:
            return not_found("Order", order_id)
        status = order_status(str(details["status"]))
        return workflow_violation(f"Cannot {action} order {po.po_number} in status {status}",
                                  {**details, "status": status})
    return err


async def transition(request: Request, client: Client, order_id: int, update: Any, command: PoCommand) -> PoResult:
    """A PO transition delivered exactly as `/purchase-orders` delivers it."""
    try:
        return await run_command(request, client, order_id, update, command)
    except AppError as err:
        raise await _order_error(request, order_id, command.action, err) from err


def _pending(session: Session, order_id: int) -> tuple[int, int, str | None]:
    po = session.get(PurchaseOrder, order_id)
    if po is None:
        raise not_found("Order", order_id)
    if po.status != PoStatus.PENDING_APPROVAL or po.approval_instance_id is None:
        status = order_status(po.status)
        raise workflow_violation(f"Order {po.po_number} is {status}, not pending approval", {"status": status})
    instance = approvals.get_instance(session, po.approval_instance_id)
    return instance.id, instance.current_step, instance.workflow_id


async def decide_order(request: Request, client: Client, user: Principal, order_id: int, action: ApprovalAction,
                       comments: str | None) -> OrderOut:
    """The decision path of `POST /purchase-orders/{id}/approve`: the current step of the PO's approval
    instance is pinned, the approval workflow decides (role, limit, segregation of duties), and a final
    decision answers once the PO lifecycle has applied it."""
    instance_id, step_number, engine = await in_transaction(request, _pending, order_id)
    if action != ApprovalAction.APPROVED and not comments:
        raise AppError("VALIDATION_ERROR", 422, f"A {action.value} decision needs comments",
                       [{"loc": ["body", "comments"], "msg": "Field required", "type": "missing"}])
    result = await decide(client, request, instance_id, Decision(action=action, comments=comments,
                                                                 actor=actor_of(user, request),
                                                                 step_number=step_number), engine)
    await settle_po(client, order_id, instance_id, result)
    return await in_transaction(request, read_order, order_id)
