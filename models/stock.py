"""Multi-location stock: locations and who may work at them, accounting periods, stock per location
and item with its ledger, and the documents that move stock (deliveries, issues, transfers), plus
people on board, reconciliation adjustments and the closing snapshots of a period.

`stock_movements` is the ledger: one row per change of a location's stock of an item, carrying the
on-hand and weighted average cost that RESULTED from it, written in the same transaction and under the
same row lock as the change, so any location's stock at any date can be recomputed from it.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin
from models.catalog import Money, Quantity

Cost = Numeric(16, 4)  # a weighted average cost keeps four decimals; values are rounded to cents
LOCATION_TYPES = ("KITCHEN", "STORE", "CENTRAL", "WAREHOUSE")
PERIOD_STATUSES = ("DRAFT", "OPEN", "PENDING_CLOSE", "CLOSED")
MOVEMENT_TYPES = ("OPENING", "RECEIPT", "ISSUE", "TRANSFER_OUT", "TRANSFER_IN", "ADJUSTMENT")
TRANSFER_STATUSES = ("PENDING_APPROVAL", "APPROVED", "COMPLETED", "REJECTED")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Location(IdMixin, TimestampMixin, VersionMixin, Base):
    """One table for every contract's places (stock locations, plants, warehouses), keyed by `code`."""

    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(30), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    address: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class LocationUser(IdMixin, Base):
    __tablename__ = "location_users"
    __table_args__ = (UniqueConstraint("location_id", "user_id", name="uq_location_users_location_user"),)

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Period(IdMixin, TimestampMixin, VersionMixin, Base):
    """DRAFT → OPEN → PENDING_CLOSE → CLOSED (a rejected close returns it to OPEN)."""

    __tablename__ = "periods"
    __table_args__ = (CheckConstraint(_one_of("status", PERIOD_STATUSES), name="status_known"),
                      CheckConstraint("end_date >= start_date", name="dates_ordered"))

    name: Mapped[str] = mapped_column(String(100), unique=True)
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)
    closing_notes: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_instances.id"))
    close_locations_done: Mapped[int] = mapped_column(default=0, server_default="0")
    close_locations_total: Mapped[int] = mapped_column(default=0, server_default="0")
    previous_period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PeriodLocation(IdMixin, TimestampMixin, Base):
    __tablename__ = "period_locations"
    __table_args__ = (UniqueConstraint("period_id", "location_id", name="uq_period_locations_period_location"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="NOT_READY")
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ready_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PeriodPrice(IdMixin, TimestampMixin, Base):
    """The expected unit price of an item in a period: a delivery at another price is a variance."""

    __tablename__ = "period_prices"
    __table_args__ = (UniqueConstraint("period_id", "item_id", name="uq_period_prices_period_item"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Cost)


class LocationStock(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "location_stock"
    __table_args__ = (UniqueConstraint("location_id", "item_id", name="uq_location_stock_location_item"),
                      CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
                      CheckConstraint("wac >= 0", name="wac_not_negative"))

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    wac: Mapped[Decimal] = mapped_column(Cost, default=Decimal(0), server_default="0")
    min_stock: Mapped[Decimal | None] = mapped_column(Quantity)
    max_stock: Mapped[Decimal | None] = mapped_column(Quantity)
    # The row's value, kept by PostgreSQL: stock totals sum it instead of computing 100,000 products.
    value: Mapped[Decimal] = mapped_column(Numeric(), Computed("round(on_hand * wac, 2)", persisted=True))


class StockMovement(IdMixin, Base):
    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(_one_of("movement_type", MOVEMENT_TYPES), name="movement_type_known"),
        CheckConstraint("balance_on_hand >= 0", name="balance_not_negative"),
        Index("ix_stock_movements_location_item_id", "location_id", "item_id", "id"),
        Index("ix_stock_movements_location_date", "location_id", "movement_date"),
        UniqueConstraint("source_key", name="uq_stock_movements_source_key"),
    )

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), index=True)
    movement_type: Mapped[str] = mapped_column(String(20))
    movement_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)  # signed: + into the location, − out of it
    unit_cost: Mapped[Decimal] = mapped_column(Cost)
    value: Mapped[Decimal] = mapped_column(Money)  # signed, rounded to cents
    balance_on_hand: Mapped[Decimal] = mapped_column(Quantity)
    balance_wac: Mapped[Decimal] = mapped_column(Cost)
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    source_key: Mapped[str] = mapped_column(String(200))  # makes a retried movement a no-op
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Delivery(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", ("DRAFT", "POSTED")), name="status_known"),
        Index("uq_deliveries_supplier_invoice", "supplier_id", "invoice_no", unique=True,
              postgresql_where="invoice_no IS NOT NULL"),
        Index("ix_deliveries_location_date", "location_id", "delivery_date"),
    )

    delivery_no: Mapped[str] = mapped_column(String(50), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), index=True)
    invoice_no: Mapped[str | None] = mapped_column(String(100))
    delivery_note: Mapped[str | None] = mapped_column(String(255))
    delivery_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    has_variance: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DeliveryLine(IdMixin, Base):
    __tablename__ = "delivery_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      CheckConstraint("unit_price >= 0", name="unit_price_not_negative"))

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Cost)
    line_total: Mapped[Decimal] = mapped_column(Money)
    period_price: Mapped[Decimal | None] = mapped_column(Cost)
    has_variance: Mapped[bool] = mapped_column(default=False)


class StockIssue(IdMixin, TimestampMixin, Base):
    __tablename__ = "stock_issues"
    __table_args__ = (Index("ix_stock_issues_location_date", "location_id", "issue_date"),)

    issue_no: Mapped[str] = mapped_column(String(50), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    cost_centre: Mapped[str] = mapped_column(String(50), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    total_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class StockIssueLine(IdMixin, Base):
    __tablename__ = "stock_issue_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    issue_id: Mapped[int] = mapped_column(ForeignKey("stock_issues.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    wac: Mapped[Decimal] = mapped_column(Cost)
    value: Mapped[Decimal] = mapped_column(Money)


class Transfer(IdMixin, TimestampMixin, VersionMixin, Base):
    """A lifecycle (`transfer-{uid}`): PENDING_APPROVAL → COMPLETED (approved and moved) or REJECTED."""

    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint(_one_of("status", TRANSFER_STATUSES), name="status_known"),
                      CheckConstraint("from_location_id <> to_location_id", name="locations_differ"))

    transfer_no: Mapped[str] = mapped_column(String(50), unique=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), index=True)
    request_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(30), default="PENDING_APPROVAL", index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    total_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_instances.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TransferLine(IdMixin, Base):
    __tablename__ = "transfer_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    wac: Mapped[Decimal] = mapped_column(Cost)  # the source's WAC: an estimate until the move, then actual
    value: Mapped[Decimal] = mapped_column(Money)


class NcrLine(IdMixin, Base):
    """An item line of an NCR (manual NCRs list items; a price-variance NCR has its delivery line)."""

    __tablename__ = "ncr_lines"

    ncr_id: Mapped[int] = mapped_column(ForeignKey("non_conformances.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    value: Mapped[Decimal] = mapped_column(Money)


class PobEntry(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "pob_entries"
    __table_args__ = (UniqueConstraint("location_id", "entry_date", name="uq_pob_entries_location_date"),
                      CheckConstraint("crew_count >= 0 AND extra_count >= 0", name="counts_not_negative"))

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    crew_count: Mapped[int]
    extra_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Reconciliation(IdMixin, TimestampMixin, VersionMixin, Base):
    """The manual figures of a location's period reconciliation; the rest is computed from the ledger."""

    __tablename__ = "reconciliations"
    __table_args__ = (UniqueConstraint("period_id", "location_id", name="uq_reconciliations_period_location"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    back_charges: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    credits: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    condemnations: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    adjustments: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    is_confirmed: Mapped[bool] = mapped_column(default=False)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PeriodClosingStock(IdMixin, Base):
    """The closing stock of a closed period per location and item: the next period's opening stock."""

    __tablename__ = "period_closing_stock"
    __table_args__ = (UniqueConstraint("period_id", "location_id", "item_id",
                                       name="uq_period_closing_stock_period_location_item"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    on_hand: Mapped[Decimal] = mapped_column(Quantity)
    wac: Mapped[Decimal] = mapped_column(Cost)
    value: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
