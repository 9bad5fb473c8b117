"""Deciding approval steps from the HTTP edge (shared by the PO, instance and inbox endpoints)."""

from fastapi import Request
from temporalio.client import Client

from api.lifecycle import transition, update_id
from core.errors import AppError
from workflows.approval import ApprovalWorkflow, approval_workflow_id
from workflows.procurement_dto import Decision, DecisionResult, PoView
from workflows.purchase_order import PurchaseOrderWorkflow, purchase_order_workflow_id


async def decide(client: Client, request: Request | None, instance_id: int, decision: Decision) -> DecisionResult:
    """Deliver a decision to the instance's approval workflow; a finished instance is a 409."""

    async def gone() -> AppError:
        return AppError("ALREADY_DECIDED", 409, f"Workflow instance {instance_id} is no longer waiting for a decision",
                        {"instance_id": instance_id})

    key = update_id(request, f"decide-{instance_id}") if request is not None else None
    result: DecisionResult = await transition(client, approval_workflow_id(instance_id), ApprovalWorkflow.decide,
                                              decision, key, gone)
    return result


async def settled_po(client: Client, po_id: int, instance_id: int) -> PoView:
    """The PO once its lifecycle has applied the outcome of approval `instance_id`."""

    async def gone() -> AppError:
        return AppError("WORKFLOW_VIOLATION", 409, f"Purchase order {po_id} is closed")

    view: PoView = await transition(client, purchase_order_workflow_id(po_id), PurchaseOrderWorkflow.settled,
                                    instance_id, None, gone)
    return view
