"""The ERP's equipment (manufacturing-erp.md §6.5, §6.6): plants, their machines with every status change, the
reasons a machine stands still and the downtime events (opened by a status change or logged afterwards), the
plants' shift patterns and the handovers between shifts."""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, Text, Time, UniqueConstraint, func, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin


class Plant(IdMixin, TimestampMixin, Base):
    __tablename__ = "plants"

    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class Machine(IdMixin, TimestampMixin, VersionMixin, Base):
    """A machine of a plant; `status` one of available, running, setup, down, maintenance since
    `status_changed_at` (every change also a `machine_status_changes` row)."""

    __tablename__ = "machines"

    machine_code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"), index=True)
    capacity_units_per_hour: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), default="available", server_default="available", index=True)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class MachineStatusChange(IdMixin, Base):
    """A machine's status history: utilization and meter-based maintenance read its running time from it."""

    __tablename__ = "machine_status_changes"
    __table_args__ = (Index("ix_machine_status_changes_machine_at", "machine_id", "changed_at"),)

    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DowntimeReason(IdMixin, TimestampMixin, Base):
    """Why a machine stands still (`mechanical_failure` …); `is_planned`: preventive maintenance, no demand."""

    __tablename__ = "downtime_reasons"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_planned: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class DowntimeEvent(IdMixin, TimestampMixin, Base):
    """A span a machine was down or in maintenance: opened by a status change (`ended_at` null while it lasts)
    or logged afterwards with both times (`source` status or logged)."""

    __tablename__ = "downtime_events"
    __table_args__ = (Index("ix_downtime_events_machine_started", "machine_id", "started_at"),)

    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("downtime_reasons.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str | None] = mapped_column(Text)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Shift(IdMixin, TimestampMixin, Base):
    """A plant's shift pattern; a shift whose end is not after its start spans midnight (22:00 → 06:00)."""

    __tablename__ = "shifts"

    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    break_duration_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    active_days: Mapped[list[str]] = mapped_column(JSONB)
    production_target_units: Mapped[int] = mapped_column(default=0, server_default="0")
    oee_target_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class ShiftHandover(IdMixin, TimestampMixin, Base):
    """The notes one shift leaves the next; its lifecycle (`shift-handover-{id}`) reminds the plant's supervisors
    when nobody acknowledges it in time."""

    __tablename__ = "shift_handovers"
    __table_args__ = (UniqueConstraint("shift_id", "date", name="uq_shift_handovers_shift_date"),)

    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    handover_notes: Mapped[str] = mapped_column(Text)
    wip_work_orders: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
