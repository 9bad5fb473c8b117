"""What crosses the workflow boundary for approvals (the engine every area uses): plans, requests, decisions,
tasks, outcomes. Small pydantic models, no ORM."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from dto.activity import ActivityRef
from dto.identity import Actor


class ApprovalAction(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class StepPlan(BaseModel):
    step_number: int
    name: str
    template_step_id: int | None = None
    approver_role: str | None = None
    approver_user_id: int | None = None
    sla_seconds: int
    escalation_user_id: int | None = None
    escalation_role: str | None = None  # who hears of an escalation when no user is named (default director)


class ApprovalRequest(BaseModel):
    """The child workflow's input: one approval instance and the steps its amount calls for."""

    instance_id: int
    reference_type: str
    reference_id: int
    amount: Decimal
    requester_id: int | None
    steps: list[StepPlan]
    allow_self_approval: bool = False


class Decision(BaseModel):
    action: ApprovalAction
    comments: str | None = None
    actor: Actor
    step_number: int | None = None


class DecisionEffect(BaseModel):
    instance_id: int
    step: StepPlan
    decision: Decision
    final: bool
    op_key: str


class StepEffect(BaseModel):
    instance_id: int
    step: StepPlan
    op_key: str


class TaskView(BaseModel):
    """An approval task as the contract renders it (`/workflows/instances/{id}/approve`)."""

    id: int
    workflow_instance_id: int
    workflow_step_id: int | None = None
    step_number: int
    approver_id: int | None = None
    approver_role: str | None = None
    status: str
    decision_at: datetime | None = None
    comments: str | None = None
    due_at: datetime | None = None
    is_escalated: bool = False
    escalated_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class DecisionResult(BaseModel):
    task: TaskView
    final: bool
    settled: bool = False  # the outcome is already applied to the entity (an engine inside the entity's lifecycle)


class ApprovalOutcome(BaseModel):
    instance_id: int
    status: ApprovalStatus
    decided_by: int | None = None
    comments: str | None = None


class FinishEffect(BaseModel):
    outcome: ApprovalOutcome


class ApprovalState(BaseModel):
    step_index: int = 0
    decided: bool = False
    escalated: bool = False


class ApprovalProgress(BaseModel):
    """The approval a PO's lifecycle runs, as carried over a continue-as-new."""

    request: ApprovalRequest
    step_number: int
    escalated: bool = False


# The approval engine's activities (activities/approvals.py): the names their histories record.
OPEN_APPROVAL_STEP = ActivityRef[StepEffect, TaskView]("open_approval_step", TaskView)
ESCALATE_APPROVAL_STEP = ActivityRef[StepEffect, TaskView]("escalate_approval_step", TaskView)
RECORD_APPROVAL_DECISION = ActivityRef[DecisionEffect, TaskView]("record_approval_decision", TaskView)
FINISH_APPROVAL = ActivityRef[FinishEffect, ApprovalOutcome]("finish_approval", ApprovalOutcome)


class TransitionRequest(BaseModel):
    """A transition of a lifecycle held as data (manufacturing-erp.md §6.4: `approve`, `assign`, `start` …) as
    its workflow receives it; the workflow sets `entity_id` and `op_key`."""

    actor: Actor
    code: str
    comment: str | None = None
    assignee_id: int | None = None
    entity_id: int = 0
    op_key: str = ""


class DefinedMove(BaseModel):
    """A transition a lifecycle held as data allows from its current state: the roles that alone may take it
    (None: the task's assignee), and whether it only hands the task to someone (`assign`: it needs
    `assignee_id`)."""

    roles: list[str] | None = None
    assigns: bool = False


class TransitionResult(BaseModel):
    """What a transition did: the contract's 200 body by ids (the API adds the names)."""

    entity_id: int
    previous_state: str
    current_state: str
    assignee_id: int | None
    performed_by_id: int | None
    performed_at: datetime
    version: int = 0
