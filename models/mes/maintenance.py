"""The ERP's preventive maintenance (manufacturing-erp.md §6.7): a machine's PM schedules (each owning a Temporal
Schedule `pm-schedule-{id}`) and the PM work orders they raise, with their checklists."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Numeric, String, Text, UniqueConstraint, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin


class PmSchedule(IdMixin, TimestampMixin, VersionMixin, Base):
    """Every `frequency_value` `frequency_unit` (days, weeks, months of the calendar; hours of the machine's running
    time for `meter`), from `last_pm_date` (and, for a meter, the running hours counted then)."""

    __tablename__ = "pm_schedules"

    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    pm_type: Mapped[str] = mapped_column(String(50))
    frequency_type: Mapped[str] = mapped_column(String(10))
    frequency_value: Mapped[int]
    frequency_unit: Mapped[str] = mapped_column(String(10))
    last_pm_date: Mapped[date | None] = mapped_column(Date)
    last_pm_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # meter: running hours from here
    lead_time_days: Mapped[int] = mapped_column(default=0, server_default="0")
    estimated_duration_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    assigned_technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checklist: Mapped[list[str]] = mapped_column(JSONB, default=list)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PmWorkOrder(IdMixin, TimestampMixin, VersionMixin, Base):
    """A preventive maintenance job (`PM-YYYY-NNN`), its lifecycle `pm-work-order-{id}`; a schedule raises at most
    one per scheduled date."""

    __tablename__ = "pm_work_orders"
    __table_args__ = (UniqueConstraint("pm_schedule_id", "scheduled_date", name="uq_pm_work_orders_schedule_date"),)

    work_order_number: Mapped[str] = mapped_column(String(40), unique=True)  # a provisional one is 35 long
    pm_schedule_id: Mapped[int | None] = mapped_column(ForeignKey("pm_schedules.id", ondelete="SET NULL"),
                                                       index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    pm_type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), index=True)
    scheduled_date: Mapped[date] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    notes: Mapped[str | None] = mapped_column(Text)
    assigned_technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    source: Mapped[str] = mapped_column(String(10), default="manual", server_default="manual")  # or schedule
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PmChecklistItem(IdMixin, Base):
    __tablename__ = "pm_checklist_items"

    pm_work_order_id: Mapped[int] = mapped_column(ForeignKey("pm_work_orders.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    task: Mapped[str] = mapped_column(String(500))
    completed: Mapped[bool] = mapped_column(default=False, server_default="false")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
