"""`POST /api/v1/workflows/{entity_type}/{entity_id}/transition/{transition_code}` (manufacturing-erp.md §6.4): one
endpoint for every ERP lifecycle with named transitions (`work_order`, `ncr_report`, and `pm_work_order` later).
Each area registers the entity types it serves (`register_transition_target`); this module imports none of them.
The answer is the contract's 200 body: states, the assignee and who performed it, by name."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, SafeStr
from api.contracts.wire import UtcDateTime
from api.deps import CurrentUser, TemporalDep, in_transaction
from core.errors import AppError
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

router = dialect_router(Dialect.ERP, prefix="/api/v1/workflows", tags=["erp: workflows"])


def register_transition_target(entity_type: str, handler: TransitionHandler) -> None:
    TARGETS[entity_type] = handler


@router.post("/{entity_type}/{entity_id}/transition/{transition_code}")
async def execute_transition(entity_type: SafeStr, entity_id: DbId, transition_code: SafeStr, request: Request,
                             client: TemporalDep, user: CurrentUser,
                             body: TransitionBody | None = None) -> TransitionOut:
    handler = TARGETS.get(entity_type)
    if handler is None:
        raise AppError("NOT_FOUND", 404, "Not found",
                       f"Unknown entity type {entity_type}; one of {', '.join(sorted(TARGETS))}")
    result = await handler(request, client, user, entity_id, transition_code, body or TransitionBody())
    return await transition_out(request, result)


async def transition_out(request: Request, result: TransitionResult) -> TransitionOut:
    names = await in_transaction(request, people, [result.assignee_id, result.performed_by_id])
    return TransitionOut(previous_state=result.previous_state, current_state=result.current_state,
                         current_assignee=_person(names, result.assignee_id),
                         performed_by=_person(names, result.performed_by_id), performed_at=result.performed_at)


def _person(names: dict[int, dict[str, Any]], user_id: int | None) -> PersonOut | None:
    return PersonOut(**names[user_id]) if user_id in names else None
