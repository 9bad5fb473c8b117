"""Quality: the one non-conformance record every contract writes (a failed goods-receipt inspection, a stock
location's claim, a price variance), whatever lifecycle carries it."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Numeric, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin

Quantity = Numeric(14, 3)
Money = Numeric(14, 2)


class NonConformance(IdMixin, TimestampMixin, VersionMixin, Base):
    """One NCR table for every source (`kind`: inspection, quality, price_variance, manual)."""

    __tablename__ = "non_conformances"

    ncr_number: Mapped[str] = mapped_column(String(50), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(30), default="OPEN", index=True)
    source_type: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the stock contract's NCRs: where, against which delivery, the price variance and the claim's progress
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    delivery_line_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_lines.id"), unique=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    expected_price: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    actual_price: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    variance: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    variance_percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    total_value: Mapped[Decimal | None] = mapped_column(Money)
    credited_value: Mapped[Decimal | None] = mapped_column(Money)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the ERP contract's NCR reports (kind `erp`): a lifecycle held as data (workflow_definitions `ncr_report`)
    ncr_type_id: Mapped[int | None] = mapped_column(ForeignKey("ncr_types.id"))
    severity: Mapped[str | None] = mapped_column(String(10))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    current_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    state_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NcrType(IdMixin, TimestampMixin, Base):
    """A kind of non-conformance an inspector picks (`Process Deviation`, `Inspection Failure`, …)."""

    __tablename__ = "ncr_types"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class NcrPhoto(IdMixin, TimestampMixin, Base):
    """A photo of an NCR in the object store (`object_key`), its type recognised from its bytes."""

    __tablename__ = "ncr_photos"

    ncr_id: Mapped[int] = mapped_column(ForeignKey("non_conformances.id", ondelete="CASCADE"), index=True)
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    original_name: Mapped[str | None] = mapped_column(String(255))
