"""What crosses the workflow boundary for approvals and purchase orders: small pydantic models, no ORM."""

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from dto.approvals import ApprovalOutcome, ApprovalProgress, ApprovalRequest, DecisionEffect, DecisionResult, StepPlan
from dto.identity import Actor


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


class GrnStatus(StrEnum):
    DRAFT = "draft"
    PENDING_INSPECTION = "pending_inspection"
    INSPECTION_PASSED = "inspection_passed"
    INSPECTION_FAILED = "inspection_failed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIAL = "partial"


class PoResult(BaseModel):
    """What a purchase-order transition answers: the API reads the body from PostgreSQL."""

    id: int
    status: PoStatus
    version: int
    approval_instance_id: int | None = None
    po_number: str | None = None


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


class PoDecisionResult(DecisionResult):
    po: PoResult | None = None  # the purchase order after the decision, when its own lifecycle decided it


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
