"""Bodies of `/api/v1/workflows` (aerospace "13. Workflow Management with PO Approval")."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, WithJsonSchema, field_validator, model_validator

from api.contracts.types import DbId
from api.contracts.wire import AerospacePage, Body
from core.permissions import parse_role
from dto.approvals import ApprovalAction

ENTITY_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
MAX_STEPS = 20
MAX_BULK = 200


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"
    AOG = "aog"


class StepIn(Body):
    """One step of a template: decided by `approver_role` or a named user, from `min_amount` on."""

    step_number: int | None = Field(default=None, ge=1, le=100)
    name: str = Field(min_length=1, max_length=200)
    approver_role: str | None = Field(default=None, max_length=50)
    approver_user_id: DbId | None = None
    min_amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    sla_seconds: int | None = Field(default=None, ge=1, le=31_536_000)
    escalation_user_id: DbId | None = None
    allow_delegation: bool = False

    @field_validator("approver_role")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is None or not value:
            return None
        role = parse_role(value)
        if role is None:
            raise ValueError(f"Unknown role {value!r}")
        return role.value

    @model_validator(mode="after")
    def _has_approver(self) -> Self:
        if self.approver_role is None and self.approver_user_id is None:
            raise ValueError("A step needs approver_role or approver_user_id")
        return self


def numbered(steps: list[StepIn], first: int = 1) -> list[dict[str, Any]]:
    """Steps as column values, each with its number (a step without one follows the previous); a number
    used twice is refused."""
    result: list[dict[str, Any]] = []
    seen: set[int] = set()
    last = first - 1
    for step in steps:
        values = step.model_dump()
        number = values["step_number"] if values["step_number"] is not None else last + 1
        if number in seen:
            raise ValueError(f"Step number {number} is used twice")
        seen.add(number)
        values["step_number"] = last = number
        result.append(values)
    return result


class TemplateCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    entity_type: str = Field(min_length=1, max_length=50, pattern=ENTITY_TYPE_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    is_active: bool = True
    auto_approve_below: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    sla_seconds: int | None = Field(default=None, ge=1, le=31_536_000)
    steps: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _numbers(self) -> Self:
        numbered(self.steps)
        return self


class TemplateUpdate(Body):
    """Changed fields only; `steps`, when given, is the template's whole new list of steps."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    entity_type: str | None = Field(default=None, min_length=1, max_length=50, pattern=ENTITY_TYPE_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    is_active: bool | None = None
    auto_approve_below: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    sla_seconds: int | None = Field(default=None, ge=1, le=31_536_000)
    steps: list[StepIn] | None = Field(default=None, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _numbers(self) -> Self:
        if self.steps is not None:
            numbered(self.steps)
        return self

    def changes(self) -> dict[str, Any]:
        """The header fields the caller set; `null` clears the optional ones and is ignored for the others."""
        values = self.model_dump(exclude_unset=True, exclude={"steps"})
        return {k: v for k, v in values.items()
                if v is not None or k in ("description", "auto_approve_below", "sla_seconds")}


class InstanceCreate(Body):
    reference_type: str = Field(min_length=1, max_length=50, pattern=ENTITY_TYPE_PATTERN)
    reference_id: DbId
    reference_number: str | None = Field(default=None, max_length=100)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    priority: Priority = Priority.NORMAL
    notes: str | None = Field(default=None, max_length=4000)
    extra_data: dict[str, Any] = Field(default_factory=dict)


class DecisionBody(Body):
    action: ApprovalAction
    comments: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _comments_when_refusing(self) -> Self:
        if self.action != ApprovalAction.APPROVED and not self.comments:
            raise ValueError(f"A {self.action.value} decision needs comments")
        return self


class BulkDecisionBody(DecisionBody):
    instance_ids: list[DbId] = Field(min_length=1, max_length=MAX_BULK)


class CancelBody(Body):
    reason: str | None = Field(default=None, max_length=2000)


# --- answers ----------------------------------------------------------------------------------------------
# The services render these bodies JSON-ready (numbers as floats, times as `…Z` strings); the models below describe
# them and pass those values through unchanged (no re-parsing, no re-formatting).

IsoDateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""A timestamp the service already rendered: ISO 8601 in UTC with `Z`."""
IsoDate = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
"""A date the service already rendered: `YYYY-MM-DD`."""


class ApprovalStepOut(BaseModel):
    """A step of an approval template."""

    id: int
    template_id: int
    step_number: int
    name: str
    approver_role: str | None
    approver_user_id: int | None
    min_amount: float
    sla_seconds: int | None
    escalation_user_id: int | None
    allow_delegation: bool
    created_at: IsoDateTime
    updated_at: IsoDateTime


class ApprovalTemplateOut(BaseModel):
    """An approval template with its steps; `is_effective`: the one new requests of its entity type use."""

    id: int
    name: str
    entity_type: str
    description: str | None
    is_active: bool
    is_effective: bool
    auto_approve_below: float | None
    sla_seconds: int | None
    created_by: int | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    steps: list[ApprovalStepOut]


class ApprovalInstanceOut(BaseModel):
    """An approval request (workflow instance)."""

    id: int
    template_id: int | None
    reference_type: str
    reference_id: int
    reference_number: str | None
    status: str
    current_step: int
    total_steps: int
    amount: float
    currency: str
    requested_by: int | None
    requested_at: IsoDateTime
    due_date: IsoDateTime | None
    priority: str
    extra_data: dict[str, Any]
    notes: str | None
    completed_at: IsoDateTime | None
    created_at: IsoDateTime
    updated_at: IsoDateTime


ApprovalInstancePage = AerospacePage[ApprovalInstanceOut]


class ApprovalTaskOut(BaseModel):
    """One step of a request as decided (or still open)."""

    id: int
    workflow_instance_id: int
    workflow_step_id: int | None
    step_number: int
    approver_id: int | None
    status: str
    decision_at: IsoDateTime | None
    comments: str | None
    is_escalated: bool
    created_at: IsoDateTime
    updated_at: IsoDateTime


class ApprovalTaskDetailOut(ApprovalTaskOut):
    step_name: str | None
    approver_role: str | None
    approver_user_id: int | None
    approver: str | None = Field(description="The display name of who decided")
    due_at: IsoDateTime | None
    escalated_at: IsoDateTime | None
    escalated_to_id: int | None


class ApprovalInstanceDetailOut(ApprovalInstanceOut):
    """A request with its steps so far (one per opened step)."""

    requested_by_name: str | None
    approvals: list[ApprovalTaskDetailOut]


class DecidableApprovalOut(BaseModel):
    """An open step the caller may decide now."""

    approval_id: int
    instance_id: int
    reference_type: str
    reference_id: int
    reference_number: str | None
    amount: float
    currency: str
    requested_at: IsoDateTime
    priority: str
    step_number: int
    step_name: str | None
    due_at: IsoDateTime | None
    is_escalated: bool


class BulkDecided(BaseModel):
    instance_id: int
    success: Literal[True]
    approval_id: int
    step_number: int
    status: str = Field(description="The decision when it was the last step, else `in_review`")


class BulkRefusal(BaseModel):
    code: str
    detail: str


class BulkRefused(BaseModel):
    instance_id: int
    success: Literal[False]
    error: BulkRefusal


class BulkDecisionOut(BaseModel):
    """One result per instance (in the order asked, duplicates once)."""

    results: list[BulkDecided | BulkRefused]
    succeeded: int
    failed: int
