"""Answers of the procurement views of `/api/v1/workflows` (aerospace "13. Workflow Management with PO Approval"):
the approver's summary, a purchase order's approval status and audit trails. services/procurement/approval_reads.py
renders them JSON-ready; these models pass its values through unchanged."""

from typing import Any

from pydantic import BaseModel, Field

from api.approvals.schemas import DecidableApprovalOut, IsoDate, IsoDateTime


class PendingPoOut(BaseModel):
    id: int
    po_number: str
    status: str
    total_amount: float
    currency: str
    created_at: IsoDateTime


class PendingInspectionOut(BaseModel):
    id: int
    grn_number: str
    purchase_order_id: int
    receipt_date: IsoDate
    received_date: IsoDate = Field(description="The same date as `receipt_date`")


class MyApprovalsOut(BaseModel):
    """What waits for the caller: the steps they may decide now, the purchase orders among them, and (with the
    inspect permission) the goods receipts waiting for inspection."""

    workflow_approvals: list[DecidableApprovalOut]
    pending_pos: list[PendingPoOut]
    pending_inspections: list[PendingInspectionOut]
    total_pending: int


class PoApprovalStepOut(BaseModel):
    step: int
    step_name: str | None
    status: str
    approver_role: str | None
    approver: str | None = Field(description="The display name of who decided")
    decision_at: IsoDateTime | None
    comments: str | None
    is_escalated: bool


class PoApprovalOut(BaseModel):
    """The PO's current approval request and its steps so far."""

    id: int
    status: str
    current_step: int
    total_steps: int
    approvals: list[PoApprovalStepOut]


class PoApprovalEventOut(BaseModel):
    action: str
    user: str | None
    from_status: str | None
    to_status: str | None
    comments: str | None
    timestamp: IsoDateTime


class PoApprovalStatusOut(BaseModel):
    """A purchase order's approval: the request (null before the first submit) and the PO's history, newest
    first."""

    po_id: int
    po_number: str
    po_status: str
    total_amount: float
    currency: str
    workflow: PoApprovalOut | None
    history: list[PoApprovalEventOut]


class AuditTrailEntryOut(BaseModel):
    """One audit row of the entity (or of an approval request about it), newest first. `old_values` /
    `new_values`: the changed fields before and after (null when none)."""

    id: int
    action: str
    entity_type: str
    entity_id: str
    user: str | None
    user_id: int | None
    description: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    timestamp: IsoDateTime
    ip_address: str | None
