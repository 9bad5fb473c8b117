"""Deciding approval steps from the HTTP edge (shared by the PO, instance and inbox endpoints)."""

from fastapi import Request
from temporalio.client import Client

from api.lifecycle import transition, update_id
from core.errors import AppError
from workflows.approval import approval_workflow_id
from workflows.procurement_dto import Decision, DecisionResult, PoView
from workflows.purchase_order import purchase_order_workflow_id
from workflows.purchase_order_v1 import PurchaseOrderV1Workflow


async def decide(client: Client, request: Request | None, instance_id: int, decision: Decision,
                 engine_workflow_id: str | None = None) -> DecisionResult:
    """Deliver a decision to the workflow whose approval engine runs the instance (the instance's
    `workflow_id`: the entity's own lifecycle, or `approval-{id}`); a finished instance is a 409."""

    async def gone() -> AppError:
        return AppError("ALREADY_DECIDED", 409, f"Workflow instance {instance_id} is no longer waiting for a decision",
                        {"instance_id": instance_id})

    key = update_id(request, f"decide-{instance_id}") if request is not None else None
    result: DecisionResult = await transition(client, engine_workflow_id or approval_workflow_id(instance_id),
                                              "decide", decision, key, gone, result_type=DecisionResult)
    return result


async def settle_po(client: Client, po_id: int, instance_id: int, result: DecisionResult) -> None:
    """Once this returns, a final decision's outcome shows on the PO. A PO's own lifecycle applies it as it
    decides (`settled`); the first lifecycles (`PurchaseOrder`) apply it after their approval child ends."""
    if result.final and not result.settled:
        await po_outcome_applied(client, po_id, instance_id)


async def po_outcome_applied(client: Client, po_id: int, instance_id: int) -> None:
    """Wait until a `PurchaseOrder` lifecycle has applied the outcome of its approval child `instance_id`."""

    async def gone() -> AppError:
        return AppError("WORKFLOW_VIOLATION", 409, f"Purchase order {po_id} is closed")

    await transition(client, purchase_order_workflow_id(po_id), PurchaseOrderV1Workflow.settled, instance_id,
                     None, gone, result_type=PoView)
