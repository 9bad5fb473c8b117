"""`POST /api/v1/workflows/{entity_type}/{entity_id}/transition/{transition_code}` (manufacturing-erp.md §6.4): one
endpoint for every ERP lifecycle with named transitions, dispatched to the area that registered the entity type
(api/transitions.py). The answer is the contract's 200 body: states, the assignee and who performed it, by name."""

from fastapi import Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, SafeStr
from api.deps import CurrentUser, TemporalDep
from api.transitions import TARGETS, TransitionBody, TransitionOut, transition_out
from core.errors import AppError

router = dialect_router(Dialect.ERP, prefix="/api/v1/workflows", tags=["erp: workflows"])


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
