"""Purchase-order bodies (aerospace "Purchase Orders (Enhanced)")."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from workflows.procurement_dto import ApprovalAction


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"
    AOG = "aog"


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LineItem(Body):
    material_id: int = Field(ge=1)
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
    material_id: int | None = Field(default=None, ge=1)
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
    supplier_id: int = Field(ge=1)
    line_items: list[LineItem] = Field(default_factory=list, max_length=500)


class PurchaseOrderUpdate(PurchaseOrderHeader):
    supplier_id: int | None = Field(default=None, ge=1)
    version: int | None = Field(default=None, ge=1)


class SubmitBody(Body):
    notes: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1)


class ApprovalBody(Body):
    action: ApprovalAction
    comments: str | None = Field(default=None, max_length=4000)
