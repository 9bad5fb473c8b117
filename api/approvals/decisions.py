"""Deciding approval steps from the HTTP edge (shared by the PO, instance and inbox endpoints)."""

import asyncio
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import in_transaction
from api.lifecycle import transition, update_id
from core.errors import AppError
from core.settings import get_settings
from dto.approvals import Decision, DecisionResult
from dto.procurement import PoView
from workflows.approvals.approval import approval_workflow_id
from workflows.procurement.purchase_order import purchase_order_workflow_id
from workflows.procurement.purchase_order_v1 import PurchaseOrderV1Workflow

T = TypeVar("T")


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


async def open_step(request: Request, client: Client, pending: Callable[[Session], T],
                    approval_of: Callable[[Session], tuple[int | None, str | None]]) -> T | None:
    """`pending(session)`: what a decision decides (the open step), or its refusal (AppError); None instead of
    the refusal when this very request's decision applied earlier (a retry: answer as the first call would)."""
    try:
        return await in_transaction(request, pending)
    except AppError:
        if not await decided_earlier(client, request, *await in_transaction(request, approval_of)):
            raise
        return None


async def decided_earlier(client: Client, request: Request, instance_id: int | None,
                          engine_workflow_id: str | None) -> DecisionResult | None:
    """The outcome of this very request's decision when an earlier call with its `Idempotency-Key` made it (the
    client retries because the first answer never reached it: a timeout, a restart). Temporal keeps an update's
    outcome under its id, even once the workflow has ended; None when there was no such update, or it failed."""
    key = update_id(request, f"decide-{instance_id}") if instance_id is not None else None
    if key is None:
        return None
    handle = client.get_workflow_handle(engine_workflow_id or approval_workflow_id(instance_id or 0))
    try:
        async with asyncio.timeout(get_settings().update_timeout_seconds):
            outcome: DecisionResult = await handle.get_update_handle(key, result_type=DecisionResult).result()
            return outcome
    except (WorkflowUpdateFailedError, TimeoutError):
        return None  # the earlier call was refused (or is still undecided): the refusal of this one stands
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: no earlier call with this key
            raise
        return None


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
