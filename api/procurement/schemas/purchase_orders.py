"""Purchase-order bodies and answers (aerospace "Purchase Orders (Enhanced)")."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from api.approvals.schemas import IsoDate, IsoDateTime, Priority
from api.contracts.types import INT4_MAX, DbId
from api.contracts.wire import AerospacePage, Body
from dto.approvals import ApprovalAction


class LineItem(Body):
    material_id: DbId
    quantity_ordered: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    unit_of_measure: str | None = Field(default=None, max_length=20)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)
    required_date: date | None = None
    specification: str | None = Field(default=None, max_length=255)
    revision: str | None = Field(default=None, max_length=20)
    requires_certification: bool = False
    requires_inspection: bool = False
    notes: str | None = None


class LineItemUpdate(Body):
    material_id: DbId | None = None
    quantity_ordered: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=3)
    unit_of_measure: str | None = Field(default=None, max_length=20)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    discount_percent: Decimal | None = Field(default=None, ge=0, le=100, max_digits=5, decimal_places=2)
    required_date: date | None = None
    specification: str | None = Field(default=None, max_length=255)
    revision: str | None = Field(default=None, max_length=20)
    requires_certification: bool | None = None
    requires_inspection: bool | None = None
    notes: str | None = None


class PurchaseOrderHeader(Body):
    priority: Priority | None = None
    required_date: date | None = None
    expected_delivery_date: date | None = None
    tax_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    shipping_cost: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    discount_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    shipping_method: str | None = Field(default=None, max_length=100)
    shipping_address: str | None = None
    requisition_number: str | None = Field(default=None, max_length=100)
    project_reference: str | None = Field(default=None, max_length=100)
    work_order_reference: str | None = Field(default=None, max_length=100)
    requires_certification: bool | None = None
    requires_inspection: bool | None = None
    payment_terms: str | None = Field(default=None, max_length=100)
    delivery_terms: str | None = Field(default=None, max_length=100)
    notes: str | None = None


class PurchaseOrderCreate(PurchaseOrderHeader):
    supplier_id: DbId
    line_items: list[LineItem] = Field(default_factory=list, max_length=500)


class PurchaseOrderUpdate(PurchaseOrderHeader):
    supplier_id: DbId | None = None
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)


class SubmitBody(Body):
    notes: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)


class ApprovalBody(Body):
    action: ApprovalAction
    comments: str | None = Field(default=None, max_length=4000)


# --- answers ----------------------------------------------------------------------------------------------
# services/procurement/purchase_order_reads.py renders them JSON-ready: amounts and quantities as numbers, dates
# and times as strings; these models pass those values through unchanged.

class PurchaseOrderLineOut(BaseModel):
    id: int
    purchase_order_id: int
    line_number: int
    material_id: int
    quantity_ordered: float
    quantity_received: float
    quantity_accepted: float
    unit_of_measure: str | None
    unit_price: float
    discount_percent: float
    total_price: float
    required_date: IsoDate | None
    specification: str | None
    revision: str | None
    requires_certification: bool
    requires_inspection: bool
    material_stage: str
    notes: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime


class PurchaseOrderOut(BaseModel):
    """A purchase order with its supplier's name and its line items."""

    id: int
    uid: str
    po_number: str
    supplier_id: int
    supplier_name: str | None
    created_by_id: int | None
    approved_by_id: int | None
    status: str
    priority: str
    po_date: IsoDate
    required_date: IsoDate | None
    expected_delivery_date: IsoDate | None
    subtotal: float
    tax_amount: float
    shipping_cost: float
    discount_amount: float
    total_amount: float
    currency: str
    revision_number: int
    shipping_method: str | None
    shipping_address: str | None
    requisition_number: str | None
    project_reference: str | None
    work_order_reference: str | None
    requires_certification: bool
    requires_inspection: bool
    payment_terms: str | None
    delivery_terms: str | None
    notes: str | None
    tracking_number: str | None
    cancel_reason: str | None
    approval_instance_id: int | None
    approved_at: IsoDateTime | None
    ordered_at: IsoDateTime | None
    version: int
    created_at: IsoDateTime
    updated_at: IsoDateTime
    line_items: list[PurchaseOrderLineOut]


PurchaseOrderPage = AerospacePage[PurchaseOrderOut]


class PurchaseOrderSummaryOut(BaseModel):
    """Counts by status (`received_count`: received and partially received) and values (`total_value`: every
    PO but the cancelled ones)."""

    total_pos: int
    draft_count: int
    pending_approval_count: int
    approved_count: int
    ordered_count: int
    received_count: int
    cancelled_count: int
    total_value: float
    pending_value: float


class PurchaseOrderEventOut(BaseModel):
    """One action on a PO (its history): who, from which status to which, at what total and revision."""

    id: int
    uid: str
    purchase_order_id: int
    user_id: int | None
    action: str
    from_status: str | None
    to_status: str | None
    comments: str | None
    po_total_at_action: float | None
    po_revision_at_action: int | None
    ip_address: str | None
    created_at: IsoDateTime


class PurchaseOrderDeletedOut(BaseModel):
    message: str
