"""Aerospace inventory: stock records (one lot of one material at one location) and their ledger.

`inventory_transactions` is the ledger of a record: one row per change of its quantity, reservation,
status or location, carrying the balance that RESULTED from it, written in the same transaction and
under the same row lock as the change. The last row of a record therefore always equals the record.
The movement rules are in services/procurement/inventory.py.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin
from models.catalog import Money, Quantity

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
