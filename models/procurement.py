"""Procurement: purchase orders with their lines and approval history, goods receipts, and the aerospace inventory
(stock records, one lot of one material at one location, and their ledger `inventory_transactions`)."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin

Quantity = Numeric(14, 3)
Money = Numeric(14, 2)


PO_WORKFLOW_TYPE = "PurchaseOrderV2"  # of new purchase orders
LEGACY_PO_WORKFLOW_TYPE = "PurchaseOrder"


class PurchaseOrder(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "purchase_orders"
    # `search=` matches any part of the PO or requisition number (ILIKE '%…%'): trigram indexes serve it.
    __table_args__ = tuple(Index(f"ix_purchase_orders_{column}_trgm", column, postgresql_using="gin",
                                 postgresql_ops={column: "gin_trgm_ops"})
                           for column in ("po_number", "requisition_number"))

    po_number: Mapped[str] = mapped_column(String(50), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    priority: Mapped[str] = mapped_column(String(20), default="normal", index=True)
    # The workflow type of its lifecycle: `PurchaseOrderV2` runs approval and receipts inside it; `PurchaseOrder`
    # (created before it) runs them in `approval-{id}` and `goods-receipt-{id}` workflows of their own.
    workflow_type: Mapped[str] = mapped_column(String(40), default=PO_WORKFLOW_TYPE, server_default=PO_WORKFLOW_TYPE)
    po_date: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    required_date: Mapped[date | None] = mapped_column(Date)
    expected_delivery_date: Mapped[date | None] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    shipping_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    revision_number: Mapped[int] = mapped_column(default=1)
    shipping_method: Mapped[str | None] = mapped_column(String(100))
    shipping_address: Mapped[str | None] = mapped_column(Text)
    requisition_number: Mapped[str | None] = mapped_column(String(100), index=True)
    project_reference: Mapped[str | None] = mapped_column(String(100))
    work_order_reference: Mapped[str | None] = mapped_column(String(100))
    requires_certification: Mapped[bool] = mapped_column(default=False)
    requires_inspection: Mapped[bool] = mapped_column(default=False)
    payment_terms: Mapped[str | None] = mapped_column(String(100))
    delivery_terms: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    approval_instance_id: Mapped[int | None]
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PurchaseOrderLine(IdMixin, TimestampMixin, Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("purchase_order_id", "line_number", name="uq_purchase_order_lines_po_line"),)

    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int]
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity_ordered: Mapped[Decimal] = mapped_column(Quantity)
    quantity_received: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    quantity_accepted: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unit_of_measure: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    total_price: Mapped[Decimal] = mapped_column(Money)
    required_date: Mapped[date | None] = mapped_column(Date)
    specification: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[str | None] = mapped_column(String(20))
    requires_certification: Mapped[bool] = mapped_column(default=False)
    requires_inspection: Mapped[bool] = mapped_column(default=False)
    material_stage: Mapped[str] = mapped_column(String(30), default="on_order")
    notes: Mapped[str | None] = mapped_column(Text)


class PurchaseOrderHistory(IdMixin, Base):
    """Every action on a PO: who, from which status to which, at what total and revision."""

    __tablename__ = "purchase_order_history"

    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    comments: Mapped[str | None] = mapped_column(Text)
    po_total_at_action: Mapped[Decimal | None] = mapped_column(Money)
    po_revision_at_action: Mapped[int | None]
    ip_address: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GoodsReceipt(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "goods_receipts"

    grn_number: Mapped[str] = mapped_column(String(50), unique=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    receipt_date: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    delivery_note_number: Mapped[str | None] = mapped_column(String(100))
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    packing_slip_received: Mapped[bool] = mapped_column(default=False)
    coc_received: Mapped[bool] = mapped_column(default=False)
    mtr_received: Mapped[bool] = mapped_column(default=False)
    storage_location: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    requires_inspection: Mapped[bool] = mapped_column(default=False)
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ncr_id: Mapped[int | None] = mapped_column(ForeignKey("non_conformances.id"))


class GoodsReceiptLine(IdMixin, TimestampMixin, Base):
    __tablename__ = "goods_receipt_lines"

    goods_receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipts.id", ondelete="CASCADE"), index=True)
    po_line_item_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_lines.id"), index=True)
    quantity_received: Mapped[Decimal] = mapped_column(Quantity)
    quantity_accepted: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unit_of_measure: Mapped[str | None] = mapped_column(String(20))
    lot_number: Mapped[str | None] = mapped_column(String(100))
    batch_number: Mapped[str | None] = mapped_column(String(100))
    heat_number: Mapped[str | None] = mapped_column(String(100))
    manufacture_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    storage_location: Mapped[str | None] = mapped_column(String(100))
    bin_number: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    inventory_id: Mapped[int | None]


# Aerospace inventory. `inventory_transactions` is the ledger of a stock record: one row per change of its quantity,
# reservation, status or location, carrying the balance that RESULTED from it, written in the same transaction and
# under the same row lock as the change. The last row of a record therefore always equals the record. The movement
# rules are in services/procurement/inventory.py.
INVENTORY_STATUSES = ("available", "reserved", "quarantine", "expired", "consumed")
TRANSACTION_TYPES = ("receipt", "issue", "transfer", "adjustment", "return", "scrap", "quarantine", "release")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Inventory(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "inventory"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("reserved_quantity >= 0 AND reserved_quantity <= quantity", name="reserved_within_quantity"),
        CheckConstraint(_one_of("status", INVENTORY_STATUSES), name="status_known"),
    )

    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="RESTRICT"), index=True)
    lot_number: Mapped[str | None] = mapped_column(String(100), index=True)
    batch_number: Mapped[str | None] = mapped_column(String(100))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    reserved_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    unit_of_measure: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="available", index=True)
    location: Mapped[str | None] = mapped_column(String(100), index=True)
    bin_number: Mapped[str | None] = mapped_column(String(50))
    received_date: Mapped[date | None] = mapped_column(Date)
    manufacture_date: Mapped[date | None] = mapped_column(Date)
    expiration_date: Mapped[date | None] = mapped_column(Date, index=True)
    certificate_of_conformance: Mapped[str | None] = mapped_column(String(100))
    heat_number: Mapped[str | None] = mapped_column(String(100))
    mill_test_report: Mapped[str | None] = mapped_column(String(100))
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    notes: Mapped[str | None] = mapped_column(Text)
    # A business key of the document line the stock came from (`grn-line:42`): receipts are idempotent by it.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    @property
    def available_quantity(self) -> Decimal:
        return self.quantity - self.reserved_quantity


class InventoryTransaction(IdMixin, Base):
    """One ledger row; immutable. `quantity` is what the caller moved (for an adjustment: the counted value);
    the `*_after` columns are the record's balance once the row applied."""

    __tablename__ = "inventory_transactions"
    __table_args__ = (
        CheckConstraint(_one_of("transaction_type", TRANSACTION_TYPES), name="type_known"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("quantity_after >= 0 AND reserved_after >= 0 AND reserved_after <= quantity_after",
                        name="balance_valid"),
    )

    inventory_id: Mapped[int] = mapped_column(ForeignKey("inventory.id", ondelete="RESTRICT"), index=True)
    transaction_type: Mapped[str] = mapped_column(String(20), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_of_measure: Mapped[str] = mapped_column(String(20))
    reference_number: Mapped[str | None] = mapped_column(String(100))
    work_order: Mapped[str | None] = mapped_column(String(100))
    from_location: Mapped[str | None] = mapped_column(String(100))
    to_location: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # A partial transfer's other record: the new record on the source's row, the source on the new record's row.
    related_inventory_id: Mapped[int | None] = mapped_column(ForeignKey("inventory.id", ondelete="RESTRICT"))
    performed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    quantity_after: Mapped[Decimal] = mapped_column(Quantity)
    reserved_after: Mapped[Decimal] = mapped_column(Quantity)
    status_after: Mapped[str] = mapped_column(String(20))
    location_after: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
