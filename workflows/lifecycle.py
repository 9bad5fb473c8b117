"""What every lifecycle workflow shares: running an effect, rejecting a transition, showing itself."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm, has_permission, is_admin_equivalent, parse_role
    from core.search_attributes import ENTITY_ID, ENTITY_STATUS, ENTITY_TYPE, PENDING_ROLE
    from dto.activity import ActivityRef
    from dto.approvals import DefinedMove, TransitionRequest
    from dto.identity import Actor

A = TypeVar("A")
R = TypeVar("R")

EFFECT_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=2))
EFFECT_TIMEOUT = timedelta(seconds=10)
EFFECT_DEADLINE = timedelta(seconds=60)


async def effect(ref: ActivityRef[A, R], arg: A) -> R:
    """Run one DB effect (the activity `ref` names, its result decoded as `ref.result_type`) as a local
    activity; a business refusal fails the update with its own type."""
    try:
        result: R = await workflow.execute_local_activity(
            ref.name, arg, result_type=ref.result_type, start_to_close_timeout=EFFECT_TIMEOUT,
            schedule_to_close_timeout=EFFECT_DEADLINE, retry_policy=EFFECT_RETRY)
        return result
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            raise ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True) from None
        raise ApplicationError(f"{ref.name} could not be applied", type="EFFECT_FAILED",
                               non_retryable=True) from None


def op_key() -> str:
    """The business key of the effect the current update applies: stable across activity retries."""
    update = workflow.current_update_info()
    return f"{workflow.info().workflow_id}:{update.id if update else 'run'}"


def violation(message: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type="WORKFLOW_VIOLATION", non_retryable=True)


def require_permission(actor: Actor, perm: Perm) -> None:
    if not has_permission(actor.role, perm, actor.is_superuser):
        raise ApplicationError(f"Role {actor.role} may not {perm.value}", {"permission": perm.value},
                               type="ACCESS_DENIED", non_retryable=True)


def require_state(current: str, allowed: tuple[str, ...], entity: str, entity_id: int, action: str) -> None:
    if current not in allowed:
        raise violation(f"Cannot {action} {entity} {entity_id} in status {current}", id=entity_id, status=current,
                        allowed_from=list(allowed), action=action)


def denied(reason: str) -> ApplicationError:
    """The ERP's 403 `{"error": "Not authorized", "reason": …}`."""
    return ApplicationError("Not authorized", reason, type="ACCESS_DENIED", non_retryable=True)


def check_defined_move(request: TransitionRequest, state: str, moves: Mapping[str, DefinedMove],
                       assignee_id: int | None, assignee_name: str | None, label: str) -> DefinedMove:
    """A transition of a lifecycle held as data (manufacturing-erp.md §6.4): allowed from `state` (else 400 naming
    the allowed codes); taken by an admin-equivalent, a holder of one of the move's roles when it lists some, else
    the task's assignee only (403 naming who has it); an assignment names its assignee."""
    move = moves.get(request.code)
    if move is None:
        raise ApplicationError("Invalid transition", f"Cannot {request.code} from {state}; allowed: "
                               f"{', '.join(moves) or 'none'}", type="INVALID_STATUS", non_retryable=True)
    actor = request.actor
    if not is_admin_equivalent(actor.role, actor.is_superuser):
        if move.roles is not None:
            role = parse_role(actor.role)
            if role is None or role.value not in move.roles:
                raise denied(f"Only {' or '.join(move.roles)} may {request.code} this {label}")
        elif actor.id != assignee_id:
            raise denied(f"This task is assigned to {assignee_name or 'nobody'}, not you")
    if move.assigns and request.assignee_id is None:
        raise ApplicationError(f"assignee_id is required to {request.code}", {"field": "assignee_id"},
                               type="VALIDATION_ERROR", non_retryable=True)
    return move


def show(entity_type: str, entity_id: int, status: str, details: str, *, pending_role: str | None = None,
         tracks_pending_role: bool = False) -> None:
    """What operators see in the Temporal UI: search attributes and the current details. A lifecycle that
    `tracks_pending_role` also keeps `PendingRole` on who must decide next (unset when nobody must), so ops
    can list what waits for a role; one upsert when anything changed, none otherwise."""
    current = workflow.info().typed_search_attributes
    role_changed = tracks_pending_role and current.get(PENDING_ROLE) != pending_role
    if current.get(ENTITY_STATUS) != status or role_changed:
        updates: list[SearchAttributeUpdate[Any]] = [
            ENTITY_TYPE.value_set(entity_type), ENTITY_ID.value_set(str(entity_id)), ENTITY_STATUS.value_set(status)]
        if tracks_pending_role:
            updates.append(PENDING_ROLE.value_set(pending_role) if pending_role else PENDING_ROLE.value_unset())
        workflow.upsert_search_attributes(updates)
    workflow.set_current_details(details)


def continue_as_new_due() -> bool:
    return workflow.info().is_continue_as_new_suggested()
