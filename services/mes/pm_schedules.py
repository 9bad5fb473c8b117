"""Preventive-maintenance schedules (manufacturing-erp.md §6.7 `GET /api/v1/pm-schedules`; create, change, delete
and read one are additions): a machine's PM every `frequency_value` `frequency_unit`, by the calendar (days, weeks,
months from `last_pm_date`) or by the meter (hours of the machine's running time since the last PM, from its
status history). Its next due date and status (`scheduled`, `due` inside the lead time or on the day, `overdue`
past it) are computed on read. Each schedule owns a Temporal Schedule (the API keeps it in step). Never commits."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.permissions import Perm, has_permission
from core.timeutil import utcnow
from models.identity import User
from models.mes.equipment import Machine, MachineStatusChange
from models.mes.maintenance import PmSchedule
from services import audit
from services.common.guards import field_error
from services.identity import people
from services.mes.intervals import CALENDAR_UNITS, add_frequency

ENTITY = "pm_schedule"
METER_UNITS = ("hours",)
RATE_WINDOW = timedelta(days=7)  # a meter's recent running rate, to foresee its due date
EDITABLE = ("pm_type", "frequency_type", "frequency_value", "frequency_unit", "last_pm_date", "lead_time_days",
            "estimated_duration_hours", "assigned_technician_id", "checklist", "is_active")


@dataclass(frozen=True)
class Due:
    next_due_date: date | None
    status: str


def status_for(next_due: date | None, lead_time_days: int, today: date) -> str:
    if next_due is None:
        return "scheduled"
    if today > next_due:
        return "overdue"
    return "due" if today >= next_due - timedelta(days=lead_time_days) else "scheduled"


def running_spans(session: Session, machine_id: int, since: datetime, until: datetime) -> list[tuple[datetime,
                                                                                                        datetime]]:
    """When the machine was `running` between `since` and `until`, from its status history (one query)."""
    before = session.execute(select(MachineStatusChange.to_status).where(
        MachineStatusChange.machine_id == machine_id, MachineStatusChange.changed_at <= since)
        .order_by(MachineStatusChange.changed_at.desc(), MachineStatusChange.id.desc()).limit(1)).scalar()
    changes = session.execute(select(MachineStatusChange.changed_at, MachineStatusChange.to_status).where(
        MachineStatusChange.machine_id == machine_id, MachineStatusChange.changed_at > since,
        MachineStatusChange.changed_at < until).order_by(MachineStatusChange.changed_at, MachineStatusChange.id)).all()
    spans, running_from = [], since if before == "running" else None
    for at, status in changes:
        if status == "running" and running_from is None:
            running_from = at
        elif status != "running" and running_from is not None:
            spans.append((running_from, at))
            running_from = None
    if running_from is not None:
        spans.append((running_from, until))
    return spans


def meter_due_date(spans: list[tuple[datetime, datetime]], hours: int, now: datetime) -> date | None:
    """The day the running hours reach `hours` (or, not yet reached, will at the last week's rate; None when the
    machine has not run lately)."""
    needed = timedelta(hours=hours)
    for start, end in spans:
        if end - start >= needed:
            return (start + needed).date()
        needed -= end - start
    recent = sum((min(end, now) - max(start, now - RATE_WINDOW) for start, end in spans
                  if end > now - RATE_WINDOW), timedelta())
    if recent <= timedelta():
        return None
    return (now + needed * (RATE_WINDOW / recent)).date()


def due_of(session: Session, schedule: PmSchedule, now: datetime | None = None) -> Due:
    now = now or utcnow()
    if schedule.frequency_type == "meter":
        since = schedule.last_pm_at or datetime.combine(schedule.last_pm_date or schedule.created_at.date(),
                                                        datetime.min.time(), UTC)
        next_due = meter_due_date(running_spans(session, schedule.machine_id, since, now),
                                  schedule.frequency_value, now)
    else:
        next_due = calendar_due_date(schedule)
    return Due(next_due, status_for(next_due, schedule.lead_time_days, now.date()))


def calendar_due_date(schedule: PmSchedule) -> date | None:
    """A calendar schedule's next due date: its last PM plus the frequency, or, never done, the day it was made
    (None past the end of the calendar)."""
    if schedule.last_pm_date is None:
        return schedule.created_at.date()
    try:
        return add_frequency(schedule.last_pm_date, schedule.frequency_value, schedule.frequency_unit)
    except (OverflowError, ValueError):
        return None


def check_values(session: Session, values: dict[str, Any]) -> None:
    """Refuse, naming the field, a unit that is not the frequency type's, an unknown machine or a technician who
    cannot work PM."""
    units = METER_UNITS if values["frequency_type"] == "meter" else CALENDAR_UNITS
    if values["frequency_unit"] not in units:
        raise field_error("frequency_unit", f"A {values['frequency_type']} schedule counts in {', '.join(units)}")
    if "machine_id" in values and session.get(Machine, values["machine_id"]) is None:
        raise field_error("machine_id", f"Machine {values['machine_id']} not found")
    technician_id = values.get("assigned_technician_id")
    if technician_id is not None:
        technician = session.get(User, technician_id)
        if technician is None or not technician.is_active or not has_permission(technician.role, Perm.WORK_PM,
                                                                                 technician.is_superuser):
            raise field_error("assigned_technician_id",
                              f"User {technician_id} is not an active user who carries out maintenance")


def create(session: Session, actor_id: int, values: dict[str, Any]) -> PmSchedule:
    check_values(session, values)
    schedule = PmSchedule(**values, created_by_id=actor_id)
    session.add(schedule)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type=ENTITY, entity_id=schedule.id,
                 action_type="PM_SCHEDULE_CREATED", payload_diff={"machine_id": {"new": schedule.machine_id}})
    return schedule


def update(session: Session, actor_id: int, schedule_id: int, changes: dict[str, Any]) -> PmSchedule:
    schedule = get(session, schedule_id, lock=True)
    merged = {key: getattr(schedule, key) for key in ("frequency_type", "frequency_unit")} | changes
    check_values(session, merged)
    before = {key: getattr(schedule, key) for key in changes}
    for key, value in changes.items():
        setattr(schedule, key, value)
    schedule.version += 1
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type=ENTITY, entity_id=schedule.id,
                 action_type="PM_SCHEDULE_UPDATED", payload_diff=audit.diff(before, changes))
    return schedule


def delete(session: Session, actor_id: int, schedule_id: int) -> None:
    schedule = get(session, schedule_id, lock=True)
    session.delete(schedule)
    audit.record(session, actor_id=actor_id, entity_type=ENTITY, entity_id=schedule_id,
                 action_type="PM_SCHEDULE_DELETED", payload_diff={"machine_id": {"old": schedule.machine_id}})


def get(session: Session, schedule_id: int, lock: bool = False) -> PmSchedule:
    query = select(PmSchedule).where(PmSchedule.id == schedule_id)
    schedule = session.scalars(query.with_for_update() if lock else query).first()
    if schedule is None:
        raise not_found("PM schedule", schedule_id)
    return schedule


def render(session: Session, schedules: list[PmSchedule], now: datetime | None = None) -> list[dict[str, Any]]:
    """The contract's rows: machine name, next due date, status and the technician by name."""
    machines = dict(session.execute(select(Machine.id, Machine.name).where(
        Machine.id.in_({s.machine_id for s in schedules}))).tuples().all()) if schedules else {}
    names = people(session, [s.assigned_technician_id for s in schedules])
    rows = []
    for schedule in schedules:
        due = due_of(session, schedule, now)
        rows.append({"id": schedule.id, "machine_id": schedule.machine_id,
                     "machine_name": machines.get(schedule.machine_id, ""), "pm_type": schedule.pm_type,
                     "frequency_type": schedule.frequency_type, "frequency_value": schedule.frequency_value,
                     "frequency_unit": schedule.frequency_unit, "last_pm_date": schedule.last_pm_date,
                     "next_due_date": due.next_due_date, "status": due.status,
                     "lead_time_days": schedule.lead_time_days,
                     "estimated_duration_hours": schedule.estimated_duration_hours or Decimal(0),
                     "assigned_technician": names.get(schedule.assigned_technician_id or 0),
                     "checklist": list(schedule.checklist or []), "is_active": schedule.is_active,
                     "version": schedule.version})
    return rows


def list_schedules(session: Session, *, machine_id: int | None, overdue_only: bool, offset: int,
                   limit: int) -> tuple[list[dict[str, Any]], int]:
    query = select(PmSchedule).order_by(PmSchedule.id)
    if machine_id:
        query = query.where(PmSchedule.machine_id == machine_id)
    rows = render(session, list(session.scalars(query)))
    if overdue_only:
        rows = [row for row in rows if row["status"] == "overdue"]
    return rows[offset:offset + limit], len(rows)
