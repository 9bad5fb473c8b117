"""Deciding approval steps from the HTTP edge (shared by the PO, instance and inbox endpoints)."""

import asyncio
from collections.abc import Awaitable, Callable
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
from services.approvals.reads import DecisionTarget
from workflows.approvals.approval import approval_workflow_id

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


# How the API knows a final decision's outcome shows on the entity: the area that owns an entity whose own lifecycle
# applies it after the decision registers a wait (`register_outcome_wait`); the approvals API imports no caller.
OutcomeWait = Callable[[Client, int, int, DecisionResult | None], Awaitable[None]]
OUTCOME_WAITS: dict[str, OutcomeWait] = {}


def register_outcome_wait(reference_type: str, wait: OutcomeWait) -> None:
    OUTCOME_WAITS[reference_type] = wait


async def outcome_applied(client: Client, target: DecisionTarget, result: DecisionResult | None) -> bool:
    """Once this returns True, the outcome of `result` (None: a cancellation) shows on the entity; False when its
    area registered no wait (the caller waits for the approval workflow instead, where it must)."""
    wait = OUTCOME_WAITS.get(target.reference_type)
    if wait is None:
        return False
    await wait(client, target.reference_id, target.instance_id, result)
    return True
