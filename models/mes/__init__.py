"""The ERP's manufacturing records (manufacturing-erp.md): a product's routing, work orders with their
dependencies and production logs, inspection plans and the logs of their measurements. A product itself is a
part of the one item master's neighbourhood (models/catalog.py `Part` with `is_product`), its bill of materials
the part's `part_materials`."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin

Money = Numeric(14, 2)
Measure = Numeric(16, 6)


class RoutingOperation(IdMixin, TimestampMixin, Base):
    """One step of a product's routing, in `sequence` order: where it runs (`machine_id`), its standard time per
    unit, and the labour rate a production log's cost uses (the setting DEFAULT_LABOR_RATE_PER_HOUR when none)."""

    __tablename__ = "routing_operations"
    __table_args__ = (UniqueConstraint("part_id", "sequence", name="uq_routing_operations_part_sequence"),)

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    machine_id: Mapped[int | None]  # the machines table comes with the ERP's equipment (issue 13)
    standard_minutes_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    labor_rate_per_hour: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class WorkOrder(IdMixin, TimestampMixin, VersionMixin, Base):
    """An order to make `quantity_ordered` units of a product (`part_id`); its lifecycle is the workflow
    `work-order-{id}`. `quantity_completed` and the costs are the sums of its production logs, kept here under
    the row lock every log takes."""

    __tablename__ = "work_orders"

    work_order_number: Mapped[str] = mapped_column(String(30), unique=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity_ordered: Mapped[int]
    quantity_completed: Mapped[int] = mapped_column(default=0, server_default="0")
    due_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    plant_id: Mapped[int | None]  # plants and machines come with the ERP's equipment (issue 13)
    machine_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), index=True)
    held_from: Mapped[str | None] = mapped_column(String(20))  # the status `resume` returns to
    hold_reason: Mapped[str | None] = mapped_column(Text)
    hold_ncr_id: Mapped[int | None] = mapped_column(ForeignKey("non_conformances.id", use_alter=True))
    material_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    labor_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkOrderDependency(Base):
    """`work_order_id` may start only once `depends_on_id` is completed."""

    __tablename__ = "work_order_dependencies"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True, index=True)


class ProductionLog(IdMixin, Base):
    """Units an operator completed on a work order (optionally at one operation of its routing), with the
    material and labour cost they added and the work order's total after them."""

    __tablename__ = "production_logs"
    __table_args__ = (Index("ix_production_logs_work_order", "work_order_id", "id"),)

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("routing_operations.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quantity_completed: Mapped[int]
    cumulative_completed: Mapped[int]
    hours_worked: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    notes: Mapped[str | None] = mapped_column(Text)
    material_cost_added: Mapped[Decimal] = mapped_column(Money)
    labor_cost_added: Mapped[Decimal] = mapped_column(Money)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class InspectionPlan(IdMixin, TimestampMixin, Base):
    """How a product is inspected: its inspection points, each with the characteristics measured there."""

    __tablename__ = "inspection_plans"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InspectionPoint(IdMixin, Base):
    __tablename__ = "inspection_points"

    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    frequency_type: Mapped[str] = mapped_column(String(30))


class InspectionCharacteristic(IdMixin, Base):
    """What is measured at a point and its specification limits (`lsl`/`usl`, either may be open)."""

    __tablename__ = "inspection_characteristics"

    point_id: Mapped[int] = mapped_column(ForeignKey("inspection_points.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30))
    specification: Mapped[str | None] = mapped_column(String(100))
    tolerance: Mapped[str | None] = mapped_column(String(50))
    usl: Mapped[Decimal | None] = mapped_column(Measure)
    lsl: Mapped[Decimal | None] = mapped_column(Measure)
    measurement_method: Mapped[str | None] = mapped_column(String(100))


class InspectionLog(IdMixin, Base):
    """An inspection of a work order at one point; a `fail` raises an NCR (`ncr_id`) and holds the work order."""

    __tablename__ = "inspection_logs"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("inspection_points.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overall_result: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str | None] = mapped_column(Text)
    ncr_id: Mapped[int | None] = mapped_column(ForeignKey("non_conformances.id"))
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InspectionMeasurement(IdMixin, Base):
    """One measured value of a characteristic, judged by the server against its limits (`client_judgement`: what
    the client said, kept when it was overruled). `measured_at` is the log's time, for SPC by date range."""

    __tablename__ = "inspection_measurements"
    __table_args__ = (Index("ix_inspection_measurements_characteristic", "characteristic_id", "measured_at"),)

    log_id: Mapped[int] = mapped_column(ForeignKey("inspection_logs.id", ondelete="CASCADE"), index=True)
    characteristic_id: Mapped[int] = mapped_column(ForeignKey("inspection_characteristics.id"))
    measured_value: Mapped[Decimal] = mapped_column(Measure)
    result: Mapped[str] = mapped_column(String(10))
    client_judgement: Mapped[bool | None]
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
