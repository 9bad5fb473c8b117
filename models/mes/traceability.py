"""The ERP's traceability (manufacturing-erp.md §6.9): material lots, finished goods' serials, what each work order
consumed (lots and sub-assemblies: the genealogy), customers and shipments, and recalls with the notices sent to
each affected customer."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Numeric, String, Text, func, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin


class Lot(IdMixin, TimestampMixin, Base):
    """A received quantity of a material: `{material code without separators}-{YYYYMMDD}-{NNN}`."""

    __tablename__ = "lots"

    lot_number: Mapped[str] = mapped_column(String(80), unique=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    receipt_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ProductSerial(IdMixin, Base):
    """A finished unit's serial (`{prefix}-{NNNNN}`), made by a work order."""

    __tablename__ = "product_serials"

    serial_number: Mapped[str] = mapped_column(String(100), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MaterialConsumption(IdMixin, Base):
    """What a work order used: a quantity of a lot, or a sub-assembly by its serial (made by another work order)."""

    __tablename__ = "material_consumptions"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    component_serial_id: Mapped[int | None] = mapped_column(ForeignKey("product_serials.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consumed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"

    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class Shipment(IdMixin, TimestampMixin, Base):
    """`SHIP-YYYY-NNN` to a customer: serials and/or a quantity of a work order's output (`shipment_items`)."""

    __tablename__ = "shipments"

    shipment_number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    ship_date: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ShipmentItem(IdMixin, Base):
    __tablename__ = "shipment_items"

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    product_serial_id: Mapped[int | None] = mapped_column(ForeignKey("product_serials.id"), unique=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1, server_default="1")


class RecallReport(IdMixin, TimestampMixin, Base):
    """`RCL-YYYY-NNN`: what is recalled (a lot or a serial), the affected units and customers found by the forward
    trace when it was raised, its PDF (`export_key` in the object store); its lifecycle `recall-{id}` notifies
    every affected customer."""

    __tablename__ = "recall_reports"

    recall_number: Mapped[str] = mapped_column(String(30), unique=True)
    recall_reason: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="notifying", server_default="notifying")
    export_key: Mapped[str | None] = mapped_column(String(300))
    total_affected_units: Mapped[int] = mapped_column(default=0, server_default="0")
    total_affected_customers: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecallNotice(IdMixin, TimestampMixin, Base):
    """One affected customer's notice of a recall: what they were shipped and whether the notice went out."""

    __tablename__ = "recall_notices"

    recall_id: Mapped[int] = mapped_column(ForeignKey("recall_reports.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    products_shipped: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
