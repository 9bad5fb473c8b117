"""What crosses the workflow boundary for approvals and purchase orders: small pydantic models, no ORM."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from dto.production import Actor


class PoStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    ORDERED = "ordered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


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


class GrnStatus(StrEnum):
    DRAFT = "draft"
    PENDING_INSPECTION = "pending_inspection"
    INSPECTION_PASSED = "inspection_passed"
    INSPECTION_FAILED = "inspection_failed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIAL = "partial"


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


class PoResult(BaseModel):
    """What a purchase-order transition answers: the API reads the body from PostgreSQL."""

    id: int
    status: PoStatus
    version: int
    approval_instance_id: int | None = None
    po_number: str | None = None


class DecisionResult(BaseModel):
    task: TaskView
    final: bool
    settled: bool = False  # the outcome is already applied to the entity (an engine inside the entity's lifecycle)
    po: PoResult | None = None  # the purchase order after the decision, when its own lifecycle decided it


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


class PoView(BaseModel):
    """A PO with its lines: what the PO endpoints answer (rendered by the API)."""

    id: int
    status: PoStatus
    version: int
    total_amount: Decimal
    revision_number: int
    approval_instance_id: int | None = None
    po_number: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CreatePo(BaseModel):
    po_id: int
    body: dict[str, Any]
    actor: Actor


class PoCommand(BaseModel):
    """submit / order / cancel / delete, with their fields (`notes`, `tracking_number`, `reason`)."""

    action: str
    actor: Actor
    expected_version: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class PoEffect(BaseModel):
    po_id: int
    op_key: str
    command: PoCommand


class SubmitResult(BaseModel):
    po: PoView
    approval: ApprovalRequest | None = None


class OutcomeEffect(BaseModel):
    po_id: int
    outcome: ApprovalOutcome
    op_key: str


class PoSubmitted(BaseModel):
    po: PoResult
    approval: ApprovalRequest | None = None  # its first step is open


class PoDecisionEffect(BaseModel):
    """A decision on a PO's approval step: recorded with, when final, the outcome applied to the PO, else the
    next step opened, in one transaction."""

    po_id: int
    decision: DecisionEffect
    next_step: StepPlan | None = None


class ApprovalProgress(BaseModel):
    """The approval a PO's lifecycle runs, as carried over a continue-as-new."""

    request: ApprovalRequest
    step_number: int
    escalated: bool = False


class PoState(BaseModel):
    po_id: int
    created: bool = False
    status: PoStatus = PoStatus.DRAFT
    pending_approval: ApprovalRequest | None = None
    applied_instance_ids: list[int] = Field(default_factory=list)


class PoLifecycleState(BaseModel):
    """The state of a `PurchaseOrderV2` lifecycle: its approval and its open goods receipts live inside it."""

    po_id: int
    created: bool = False
    status: PoStatus = PoStatus.DRAFT
    approval: ApprovalProgress | None = None
    receipts: dict[int, GrnStatus] = Field(default_factory=dict)  # goods receipts not yet finished


class PoLifecycleInput(BaseModel):
    po_id: int
    state: PoLifecycleState | None = None


class PoInput(BaseModel):
    po_id: int
    state: PoState | None = None


class GrnView(BaseModel):
    id: int
    status: GrnStatus
    purchase_order_id: int
    version: int
    data: dict[str, Any] = Field(default_factory=dict)


class CreateGrn(BaseModel):
    grn_id: int
    po_id: int
    body: dict[str, Any]
    actor: Actor


class GrnCommand(BaseModel):
    """inspect (`passed`, `notes`) or accept."""

    action: str
    grn_id: int | None = None  # which receipt, when the PO's lifecycle runs its receipts
    actor: Actor
    payload: dict[str, Any] = Field(default_factory=dict)


class GrnResult(BaseModel):
    """What a goods-receipt transition answers (with its PO's status after it)."""

    id: int
    status: GrnStatus
    purchase_order_id: int
    version: int
    po_status: PoStatus | None = None


class GrnEffect(BaseModel):
    grn_id: int
    op_key: str
    command: GrnCommand


class GrnState(BaseModel):
    grn_id: int
    po_id: int | None = None
    created: bool = False
    status: GrnStatus = GrnStatus.DRAFT


class GrnInput(BaseModel):
    grn_id: int
    state: GrnState | None = None
