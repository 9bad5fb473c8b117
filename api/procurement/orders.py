"""`/api/v1/orders` (aerospace "Orders"): the simple contract's view of the purchase orders. Same table, same
`purchase-order-{id}` lifecycle and approval engine as `/api/v1/purchase-orders`; only the field names and
status values differ (`api/procurement/schemas/orders.py`, `api/procurement/orders_adapter.py`)."""

from typing import Annotated, Any

from fastapi import Depends, Request

from api.approvals.schemas import Priority
from api.catalog.schemas import Paging, PathId
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId
from api.contracts.wire import paged
from api.deps import SessionDep, TemporalDep, actor_of, in_transaction, require
from api.procurement import orders_adapter as orders
from api.procurement import purchase_order_calls
from api.procurement.schemas.orders import (
    OrderApproval,
    OrderCreate,
    OrderDeletedOut,
    OrderItemCreate,
    OrderItemUpdate,
    OrderOut,
    OrderPage,
    OrderStatus,
    OrderSubmit,
    OrderUpdate,
)
from core.permissions import Perm
from dto.approvals import ApprovalAction
from dto.procurement import PoCommand
from services.identity import Principal
from services.procurement import purchase_orders
from workflows.procurement.purchase_order import PurchaseOrderWorkflow

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/orders", tags=["orders"])


@router.get("", dependencies=[require(Perm.PO_VIEW)], response_model=OrderPage)
def list_orders(session: SessionDep, paging: Annotated[Paging, Depends()], status: OrderStatus | None = None,
                priority: Priority | None = None, supplier_id: DbId | None = None) -> Any:
    rows, total = orders.search(session, paging.offset, paging.size, status=status, priority=priority,
                                supplier_id=supplier_id)
    return paged(orders.render(session, rows), total, paging.page, paging.size)


@router.post("", status_code=201, response_model=OrderOut)
async def create_order(body: OrderCreate, request: Request, client: TemporalDep,
                       user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await purchase_order_calls.create_purchase_order(request, client, user, body.purchase_order(),
                                                            render=orders.rendered)


@router.get("/{order_id}", dependencies=[require(Perm.PO_VIEW)], response_model=OrderOut)
def get_order(order_id: PathId, session: SessionDep) -> Any:
    return orders.read_order(session, order_id)


@router.put("/{order_id}", response_model=OrderOut)
async def update_order(order_id: PathId, body: OrderUpdate, request: Request,
                       user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await in_transaction(request, orders.draft_edit(purchase_orders.update_header, "update"), order_id,
                                body.changes(), user.id, body.version)


@router.delete("/{order_id}", response_model=OrderDeletedOut)
async def delete_order(order_id: PathId, request: Request, client: TemporalDep,
                       user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    view = await orders.transition(request, client, order_id, PurchaseOrderWorkflow.discard,
                                   PoCommand(action="delete", actor=actor_of(user, request)))
    return {"message": f"Order {view.po_number} deleted", "id": order_id}


@router.post("/{order_id}/submit", response_model=OrderOut)
async def submit_order(order_id: PathId, request: Request, client: TemporalDep, body: OrderSubmit | None = None,
                       user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    command = PoCommand(action="submit", actor=actor_of(user, request),
                        expected_version=body.version if body else None,
                        payload={"notes": body.notes if body else None})
    await orders.transition(request, client, order_id, PurchaseOrderWorkflow.submit, command)
    return await in_transaction(request, orders.read_order, order_id)


@router.post("/{order_id}/approve", response_model=OrderOut)
async def approve_order(order_id: PathId, request: Request, client: TemporalDep, body: OrderApproval | None = None,
                        user: Principal = require(Perm.PO_VIEW)) -> Any:
    """Approve (no body, as the contract shows) or `{"action": "rejected" | "returned", "comments": …}`; the
    approval engine checks the step's role, the approver's limit and segregation of duties."""
    action = body.action if body is not None else ApprovalAction.APPROVED
    return await orders.decide_order(request, client, user, order_id, action, body.comments if body else None)


@router.post("/{order_id}/items", status_code=201, response_model=OrderOut)
async def add_order_item(order_id: PathId, body: OrderItemCreate, request: Request,
                         user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    return await in_transaction(request, orders.draft_edit(purchase_orders.add_line, "add an item to"), order_id,
                                body.line().model_dump(), user.id)


@router.put("/{order_id}/items/{item_id}", response_model=OrderOut)
async def update_order_item(order_id: PathId, item_id: PathId, body: OrderItemUpdate, request: Request,
                            user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    change = orders.draft_edit(purchase_orders.update_line, "change an item of", item=True)
    return await in_transaction(request, change, order_id, item_id, body.changes(), user.id)


@router.delete("/{order_id}/items/{item_id}", response_model=OrderOut)
async def delete_order_item(order_id: PathId, item_id: PathId, request: Request,
                            user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    change = orders.draft_edit(purchase_orders.delete_line, "delete an item of", item=True)
    return await in_transaction(request, change, order_id, item_id, user.id)
