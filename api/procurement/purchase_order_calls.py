"""Calls into the purchase-order lifecycle shared by `/purchase-orders` and its `/orders` view. Transitions
answer the PO's status and version; the body is read from PostgreSQL after them."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.approvals.decisions import register_outcome_wait
from api.deps import actor_of, in_transaction
from api.lifecycle import create_with_start, idempotency_key, transition, update_id
from api.procurement.schemas.purchase_orders import PurchaseOrderCreate
from core.errors import AppError, workflow_violation
from dto.approvals import DecisionResult
from dto.procurement import CreatePo, PoCommand, PoLifecycleInput, PoResult, PoStatus, PoView
from models.procurement import PurchaseOrder
from services.common import idempotency
from services.identity import Principal
from services.procurement import purchase_order_reads, purchase_orders
from services.procurement.purchase_orders import PURCHASE_ORDER
from workflows.procurement.purchase_order import PurchaseOrderWorkflow, purchase_order_workflow_id
from workflows.procurement.purchase_order_v1 import PurchaseOrderV1Workflow

T = TypeVar("T")


def _prepare(session: Session, key: str | None,
             render: Callable[[Session, PurchaseOrder], T]) -> tuple[int, T | None]:
    """The PO id to create; with an `Idempotency-Key` seen before, the PO it created (rendered)."""
    earlier = idempotency.known_id(session, "purchase_order", key)
    if earlier is not None:
        po = purchase_orders.find_po(session, earlier)
        return earlier, render(session, po) if po is not None else None
    return idempotency.reserve_id(session, "purchase_orders", "purchase_order", key), None


async def create_purchase_order(request: Request, client: Client, user: Principal, body: PurchaseOrderCreate, *,
                                render: Callable[[Session, PurchaseOrder], T]) -> T:
    """A draft PO through its lifecycle: reserve the id (the same `Idempotency-Key` always gets the same PO,
    whichever path created it), then update-with-start `purchase-order-{id}` with the create as its first
    update; the answer is the PO as `render` shows it."""
    po_id, created_before = await in_transaction(request, _prepare, idempotency_key(request), render)
    if created_before is not None:
        return created_before
    await create_with_start(
        client, run=PurchaseOrderWorkflow.run, start_input=PoLifecycleInput(po_id=po_id),
        workflow_id=purchase_order_workflow_id(po_id), create=PurchaseOrderWorkflow.create,
        request=CreatePo(po_id=po_id, body=body.model_dump(mode="json"), actor=actor_of(user, request)),
        result_type=PoResult, entity_type="purchase_order", entity_id=po_id,
        summary=f"Purchase order {po_id} for supplier {body.supplier_id}", update_key=f"create-po-{po_id}",
        status=PoStatus.DRAFT)
    return await rendered(request, po_id, render)


async def rendered(request: Request, po_id: int,
                   render: Callable[[Session, PurchaseOrder], Any] = purchase_order_reads.render) -> Any:
    """The PO's body as it is now (after a transition)."""
    return await in_transaction(request, lambda s: render(s, purchase_orders.get_po(s, po_id)))


async def run_command(request: Request, client: Any, po_id: int, update: Any, command: PoCommand) -> PoResult:
    """Deliver a PO transition (the update names are the same for every PO workflow type); a closed
    lifecycle means the PO is past every transition."""

    async def gone() -> AppError:
        po = await in_transaction(request, lambda s: purchase_orders.get_po(s, po_id))
        return workflow_violation(f"Cannot {command.action} purchase order {po.po_number} in status {po.status}",
                                  {"status": po.status})

    result: PoResult = await transition(client, purchase_order_workflow_id(po_id), update, command,
                                        update_id(request, command.action), gone)
    return result


async def settle_po(client: Client, po_id: int, instance_id: int, result: DecisionResult | None) -> None:
    """Once this returns, a final decision's outcome (or a cancellation's, `result` None) shows on the PO. A PO's
    own lifecycle applies it as it decides (`settled`); the first lifecycles (`PurchaseOrder`) apply it after their
    approval child ends."""
    if result is None or (result.final and not result.settled):
        await po_outcome_applied(client, po_id, instance_id)


async def po_outcome_applied(client: Client, po_id: int, instance_id: int) -> None:
    """Wait until a `PurchaseOrder` lifecycle has applied the outcome of its approval child `instance_id`."""

    async def gone() -> AppError:
        return AppError("WORKFLOW_VIOLATION", 409, f"Purchase order {po_id} is closed")

    await transition(client, purchase_order_workflow_id(po_id), PurchaseOrderV1Workflow.settled, instance_id,
                     None, gone, result_type=PoView)


register_outcome_wait(PURCHASE_ORDER, settle_po)
