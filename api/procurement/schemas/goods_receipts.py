"""Goods receipt bodies and answers (aerospace "Purchase Orders (Enhanced)": receiving, inspection, acceptance) and
the material stage of a PO line."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from api.approvals.schemas import IsoDate, IsoDateTime
from api.contracts.types import DbId
from api.contracts.wire import Body


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


# --- answers ----------------------------------------------------------------------------------------------
# services/procurement/goods_receipts.py renders them JSON-ready; these models pass its values through unchanged.

class GoodsReceiptLineOut(BaseModel):
    id: int
    goods_receipt_id: int
    po_line_item_id: int
    quantity_received: float
    quantity_accepted: float
    unit_of_measure: str | None
    lot_number: str | None
    batch_number: str | None
    heat_number: str | None
    manufacture_date: IsoDate | None
    expiry_date: IsoDate | None
    storage_location: str | None
    bin_number: str | None
    notes: str | None
    inventory_id: int | None = Field(description="The stock record the accepted quantity went into")
    created_at: IsoDateTime
    updated_at: IsoDateTime


class GoodsReceiptOut(BaseModel):
    """A goods receipt (GRN) with its lines; `ncr_number`: the non-conformance a failed inspection raised."""

    id: int
    uid: str
    grn_number: str
    purchase_order_id: int
    received_by_id: int | None
    status: str
    receipt_date: IsoDate
    delivery_note_number: str | None
    invoice_number: str | None
    carrier: str | None
    tracking_number: str | None
    packing_slip_received: bool
    coc_received: bool
    mtr_received: bool
    storage_location: str | None
    notes: str | None
    requires_inspection: bool
    inspected_by_id: int | None
    inspected_at: IsoDateTime | None
    inspection_notes: str | None
    accepted_by_id: int | None
    accepted_at: IsoDateTime | None
    ncr_id: int | None
    ncr_number: str | None
    version: int
    created_at: IsoDateTime
    updated_at: IsoDateTime
    line_items: list[GoodsReceiptLineOut]
