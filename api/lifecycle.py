"""Talking to lifecycle workflows from the HTTP edge: create with update-with-start, transitions as
updates, and every Temporal failure mapped to an AppError by its type (never by message text)."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.middleware.idempotency import MAX_KEY_CHARS
from core.errors import LIFECYCLE_ERROR_STATUS, AppError
from core.search_attributes import ENTITY_ID, ENTITY_STATUS, ENTITY_TYPE
from core.settings import get_settings

log = logging.getLogger("api.lifecycle")
T = TypeVar("T")
LOST_UPDATE_ATTEMPTS = 3


class WorkflowGone(Exception):
    """The entity's workflow is closed (finished) or was never started."""


class LifecycleFinished(AppError):
    """The lifecycle finished while the update it had accepted was still running (Temporal's
    `AcceptedUpdateCompletedWorkflow`): a 409 WORKFLOW_VIOLATION for the caller."""

    def __init__(self) -> None:
        super().__init__("WORKFLOW_VIOLATION", 409, "The lifecycle finished before this request completed")


def update_id(request: Request, action: str) -> str | None:
    """A client's `Idempotency-Key` makes the update id, so a retry attaches to the same update (Temporal answers
    it with the first outcome); the key is its user's own."""
    key = idempotency_key(request)
    return f"{action}:{key}" if key else None


def idempotency_key(request: Request) -> str | None:
    """The client's `Idempotency-Key` as `<user id>:<key>`: the same key from another user is another key."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_CHARS:  # the middleware refuses it first for a signed-in write
        raise AppError("VALIDATION_ERROR", 422, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters")
    principal = getattr(request.state, "principal", None)
    return f"{getattr(principal, 'id', 'anonymous')}:{key}"


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Make a workflow call within the update deadline; translate its failures."""
    try:
        async with asyncio.timeout(get_settings().update_timeout_seconds):
            return await _retrying_while_task_fails(call)
    except WorkflowUpdateFailedError as err:
        raise _refusal(err.cause) from err
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        raise AppError("LIFECYCLE_TIMEOUT", 504, "The lifecycle did not answer in time; retry with the same "
                       "Idempotency-Key to complete the same request once") from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowGone() from err
        log.warning("lifecycle call failed: %s %s", err.status.name if err.status else "?", err.message)
        raise AppError("SERVICE_UNAVAILABLE", 503, "The lifecycle service is unavailable; retry later") from err


async def _retrying_while_task_fails(call: Callable[[], Awaitable[T]]) -> T:
    """FAILED_PRECONDITION means the workflow task is failing right now (e.g. a signal raced its completion)
    and the update was not accepted: try again shortly, under the same update id."""
    delay = 0.02
    while True:
        try:
            return await call()
        except RPCError as err:
            if err.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            log.info("workflow task busy (%s); retrying in %.2fs", err.message, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


def _refusal(cause: BaseException | None) -> AppError:
    if isinstance(cause, ApplicationError) and cause.type in LIFECYCLE_ERROR_STATUS:
        details = cause.details[0] if cause.details else None
        return AppError(cause.type, LIFECYCLE_ERROR_STATUS[cause.type], cause.message, details)
    if isinstance(cause, ApplicationError) and cause.type == "AcceptedUpdateCompletedWorkflow":
        return LifecycleFinished()
    log.error("lifecycle update failed: %r", cause)
    return AppError("LIFECYCLE_FAILED", 503, "The lifecycle could not apply the request; retry later")


def search_attributes(entity_type: str, entity_id: int, status: str) -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(ENTITY_TYPE, entity_type),
                                  SearchAttributePair(ENTITY_ID, str(entity_id)),
                                  SearchAttributePair(ENTITY_STATUS, status)])


async def create_with_start(client: Client, *, run: Any, start_input: Any, workflow_id: str,
                            create: Any, request: Any, result_type: type[T], entity_type: str,
                            entity_id: int, summary: str, update_key: str, status: str = "DRAFT") -> T:
    """Start the entity's workflow (or reuse it) and deliver the create as its first update. `status` is the
    EntityStatus it starts with: the one its create sets, so the create upserts no search attribute."""

    def attempt() -> Awaitable[T]:
        start = WithStartWorkflowOperation(  # an operation is good for one call only
            run, start_input, id=workflow_id, task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes(entity_type, entity_id, status), static_summary=summary)
        return client.execute_update_with_start_workflow(create, request, start_workflow_operation=start,
                                                         id=update_key, result_type=result_type)

    try:
        result: T = await guarded(attempt)
    except WorkflowGone as err:
        raise AppError("WORKFLOW_VIOLATION", 409, f"{entity_type} {entity_id} was already created") from err
    return result


async def transition(client: Client, workflow_id: str, update: Any, arg: Any,
                     update_key: str | None, on_gone: Callable[[], Awaitable[AppError]],
                     result_type: type | None = None) -> Any:
    """Deliver a transition (an update method, or its name with `result_type`); a closed workflow means the
    entity is past every transition."""
    handle = client.get_workflow_handle(workflow_id)
    same_update = update_key or str(uuid.uuid4())  # retries inside the deadline are the same update
    attempt = 1
    while True:
        try:
            return await guarded(lambda: handle.execute_update(update, arg, id=same_update, result_type=result_type))
        except WorkflowGone:
            if attempt == LOST_UPDATE_ATTEMPTS or not await _running(handle):
                raise await on_gone() from None
        # NOT_FOUND of a running workflow: the server lost an update it had admitted but not accepted (its worker
        # died, or the workflow left the server's cache); send the same update again.
        log.warning("update %s of %s was lost before it was accepted; sending it again", same_update, workflow_id)
        attempt += 1


async def _running(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError:
        return False


async def notify(client: Client, workflow_id: str, signal: Callable[..., Any]) -> None:
    """Best-effort news for a workflow after a direct write; its next effect re-reads the record anyway."""
    try:
        await client.get_workflow_handle(workflow_id).signal(signal)
    except RPCError as err:
        log.warning("could not signal %s: %s", workflow_id, err)


async def settled_or_finished(client: Client, workflow_id: str, update: Any, arg: Any) -> Any | None:
    """Ask a lifecycle to answer once it has absorbed something; None when it has already finished (then the
    record in the database says it all)."""
    handle = client.get_workflow_handle(workflow_id)
    key = str(uuid.uuid4())
    try:
        return await guarded(lambda: handle.execute_update(update, arg, id=key))
    except (WorkflowGone, LifecycleFinished):
        return None
