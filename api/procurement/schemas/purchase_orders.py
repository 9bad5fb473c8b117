"""Purchase-order bodies (aerospace "Purchase Orders (Enhanced)")."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from api.approvals.schemas import Priority
from api.contracts.types import INT4_MAX, DbId
from api.contracts.wire import Body
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


class MaterialStage(StrEnum):
    ON_ORDER = "on_order"
    IN_INSPECTION = "in_inspection"
    RAW_MATERIAL = "raw_material"
    WIP = "wip"
    FINISHED_GOODS = "finished_goods"
    CONSUMED = "consumed"
    SCRAPPED = "scrapped"


class ReceiptLine(Body):
    po_line_item_id: DbId
    quantity_received: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    unit_of_measure: str | None = Field(default=None, max_length=20)
    lot_number: str | None = Field(default=None, max_length=100)
    batch_number: str | None = Field(default=None, max_length=100)
    heat_number: str | None = Field(default=None, max_length=100)
    manufacture_date: date | None = None
    expiry_date: date | None = None
    storage_location: str | None = Field(default=None, max_length=100)
    bin_number: str | None = Field(default=None, max_length=50)
    notes: str | None = None


class GoodsReceiptCreate(Body):
    purchase_order_id: DbId | None = None
    receipt_date: date | None = None
    delivery_note_number: str | None = Field(default=None, max_length=100)
    invoice_number: str | None = Field(default=None, max_length=100)
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
    packing_slip_received: bool = False
    coc_received: bool = False
    mtr_received: bool = False
    storage_location: str | None = Field(default=None, max_length=100)
    notes: str | None = None
    line_items: list[ReceiptLine] = Field(min_length=1, max_length=500)


class StageBody(Body):
    material_stage: MaterialStage
    notes: str | None = None
