"""What the one transition endpoint (api/workflow_transitions.py, manufacturing-erp.md §6.4) and the areas behind it
share: its body and answer, and the registry of entity types (`work_order`, `ncr_report`, `pm_work_order` later):
each area registers a handler for its own (`register_transition_target`); this module imports none of them."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.contracts.types import DbId, SafeStr
from api.contracts.wire import UtcDateTime
from api.deps import in_transaction
from dto.approvals import TransitionResult
from services.identity import Principal, people


class TransitionBody(BaseModel):
    comment: SafeStr | None = Field(default=None, max_length=4000)
    assignee_id: DbId | None = None  # `assign` only


class PersonOut(BaseModel):
    id: int
    name: str


class TransitionOut(BaseModel):
    previous_state: str
    current_state: str
    current_assignee: PersonOut | None
    performed_by: PersonOut | None
    performed_at: UtcDateTime


TransitionHandler = Callable[[Request, Client, Principal, int, str, TransitionBody], Awaitable[TransitionResult]]
TARGETS: dict[str, TransitionHandler] = {}

def register_transition_target(entity_type: str, handler: TransitionHandler) -> None:
    TARGETS[entity_type] = handler


async def transition_out(request: Request, result: TransitionResult) -> TransitionOut:
    names = await in_transaction(request, people, [result.assignee_id, result.performed_by_id])
    return TransitionOut(previous_state=result.previous_state, current_state=result.current_state,
                         current_assignee=_person(names, result.assignee_id),
                         performed_by=_person(names, result.performed_by_id), performed_at=result.performed_at)


def _person(names: dict[int, dict[str, Any]], user_id: int | None) -> PersonOut | None:
    return PersonOut(**names[user_id]) if user_id in names else None
