"""`GET /api/v1/workflow-definitions/{entity_type}` (an addition to manufacturing-erp.md §6.4): a lifecycle held
as data (`ncr_report`): its states, each owned by a role, and its transitions, for any signed-in user (a client
shows what a record may do next). Services: services/approvals/definitions.py."""

from pydantic import BaseModel, ConfigDict, Field

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep
from services.approvals import definitions

router = dialect_router(Dialect.ERP, prefix="/api/v1/workflow-definitions", tags=["erp: workflows"])


class StateOut(BaseModel):
    code: str
    name: str
    role: str | None  # who works on a record in this state (the least loaded holder is assigned)
    final: bool


class TransitionRuleOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    code: str
    name: str
    from_: list[str] = Field(alias="from")
    to: str | None  # null: the state stays (an assignment)
    roles: list[str] | None  # only these roles (and admins) may perform it; null: the record's assignee


class WorkflowDefinitionOut(BaseModel):
    entity_type: str
    name: str
    initial_state: str
    states: list[StateOut]
    transitions: list[TransitionRuleOut]


@router.get("/{entity_type}")
def get_workflow_definition(entity_type: SafeStr, session: SessionDep, user: CurrentUser) -> WorkflowDefinitionOut:
    """404 for an entity type with no definition."""
    return WorkflowDefinitionOut.model_validate(definitions.load(session, entity_type).body())
