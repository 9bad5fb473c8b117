"""What crosses the workflow boundary for approvals and purchase orders: small pydantic models, no ORM."""

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from dto.activity import ActivityRef
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


# The procurement activities (activities/procurement.py): the names their histories record.
# `PurchaseOrderV2` (its approval and goods receipts included):
CREATE_PO = ActivityRef[CreatePo, PoResult]("create_po", PoResult)
SUBMIT_PO = ActivityRef[PoEffect, PoSubmitted]("submit_po", PoSubmitted)
DECIDE_PO_APPROVAL = ActivityRef[PoDecisionEffect, PoDecisionResult]("decide_po_approval", PoDecisionResult)
WITHDRAW_PO_APPROVAL = ActivityRef[OutcomeEffect, PoResult]("withdraw_po_approval", PoResult)
ORDER_PO = ActivityRef[PoEffect, PoResult]("order_po", PoResult)
CANCEL_PO = ActivityRef[PoEffect, PoResult]("cancel_po", PoResult)
DISCARD_PO = ActivityRef[PoEffect, PoResult]("discard_po", PoResult)
RECEIVE_PO_GOODS = ActivityRef[CreateGrn, GrnResult]("receive_po_goods", GrnResult)
INSPECT_PO_GOODS = ActivityRef[GrnEffect, GrnResult]("inspect_po_goods", GrnResult)
ACCEPT_PO_GOODS = ActivityRef[GrnEffect, GrnResult]("accept_po_goods", GrnResult)
# `PurchaseOrder` lifecycles started before `PurchaseOrderV2`:
CREATE_PURCHASE_ORDER = ActivityRef[CreatePo, PoView]("create_purchase_order", PoView)
SUBMIT_PURCHASE_ORDER = ActivityRef[PoEffect, SubmitResult]("submit_purchase_order", SubmitResult)
APPLY_PO_APPROVAL_OUTCOME = ActivityRef[OutcomeEffect, PoView]("apply_po_approval_outcome", PoView)
ORDER_PURCHASE_ORDER = ActivityRef[PoEffect, PoView]("order_purchase_order", PoView)
CANCEL_PURCHASE_ORDER = ActivityRef[PoEffect, PoView]("cancel_purchase_order", PoView)
DISCARD_PURCHASE_ORDER = ActivityRef[PoEffect, PoView]("discard_purchase_order", PoView)
PURCHASE_ORDER_VIEW = ActivityRef[int, PoView]("purchase_order_view", PoView)
REFRESH_PO_RECEIPT_STATUS = ActivityRef[int, PoView]("refresh_po_receipt_status", PoView)
# `GoodsReceipt` lifecycles (before `PurchaseOrderV2` held its receipts):
CREATE_GOODS_RECEIPT = ActivityRef[CreateGrn, GrnView]("create_goods_receipt", GrnView)
INSPECT_GOODS_RECEIPT = ActivityRef[GrnEffect, GrnView]("inspect_goods_receipt", GrnView)
ACCEPT_GOODS_RECEIPT = ActivityRef[GrnEffect, GrnView]("accept_goods_receipt", GrnView)
