"""ERP machines (manufacturing-erp.md §6.5; create and detail are additions): a plant's machine, its status
(`available`, `running`, `setup`, `down`, `maintenance`) with every change in its history, and what the list shows
of it: the work order in progress on it, its utilization over the last 7 days and its maintenance dates.

A status change is a direct guarded write: the machine's row is locked for the transaction, so changes at once are
serialised and the history stays one chain (each row's `from_status` the previous row's `to_status`). Going `down`
(a `reason_code` required) or into `maintenance` (`preventive_maintenance` unless a reason is given) opens a downtime
event; any change out of it closes it. Never commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.timeutil import utcnow
from models.mes import WorkOrder
from models.mes.equipment import DowntimeEvent, DowntimeReason, Machine, MachineStatusChange, Plant
from models.mes.maintenance import PmSchedule, PmWorkOrder
from services import audit
from services.catalog import master_data as catalog
from services.common.guards import field_error, locked
from services.mes import pm_schedules
from services.mes.intervals import CALENDAR_UNITS, available_spans
from services.mes.plants import require_plant
from services.mes.utilization import DOWN_STATUSES, PREVENTIVE, load_reasons, plant_patterns, timelines, usage

STATUSES = ("available", "running", "setup", "down", "maintenance")
UTILIZATION_DAYS = 7  # the list's utilization_percent: the last week
ENTITY = "machine"


def require_machine(session: Session, machine_id: int, field: str) -> Machine:
    """The machine a body names (`machine_id`, `operations.2.machine_id`), or the refusal naming `field`."""
    machine = session.get(Machine, machine_id)
    if machine is None:
        raise field_error(field, f"Machine {machine_id} not found")
    return machine


def require_reason(session: Session, code: str, field: str) -> DowntimeReason:
    """An active downtime reason by its code, or the refusal naming `field`."""
    reason = session.scalar(select(DowntimeReason).where(DowntimeReason.code == code,
                                                         DowntimeReason.is_active.is_(True)))
    if reason is None:
        raise field_error(field, f"Downtime reason {code} not found")
    return reason


def create_machine(session: Session, actor_id: int, values: dict[str, Any]) -> Machine:
    """A new machine of a plant, `available` from now (its history's first row); a machine code already used or
    an unknown plant is refused, naming the field."""
    require_plant(session, values["plant_id"])
    taken = catalog.duplicate("Machine code", "machine_code", values["machine_code"])
    if catalog.taken(session, Machine.machine_code, values["machine_code"]):
        raise taken
    now = utcnow()
    machine = catalog.insert(session, Machine(
        machine_code=values["machine_code"], name=values["name"], plant_id=values["plant_id"],
        capacity_units_per_hour=values["capacity_units_per_hour"], status="available", status_changed_at=now), taken)
    session.add(MachineStatusChange(machine_id=machine.id, from_status=None, to_status="available",
                                    changed_by_id=actor_id, changed_at=now, notes="created"))
    catalog.record_created(session, actor_id, machine, ENTITY, "MACHINE_CREATED")
    session.flush()
    return machine


# --- status -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusChanged:
    """A machine after a status change, and the downtime it is in (None when it is not down or in maintenance)."""

    machine: Machine
    downtime_started_at: datetime | None
    downtime_reason: str | None


def set_status(session: Session, actor_id: int, machine_id: int, values: dict[str, Any]) -> StatusChanged:
    """Change a machine's status under its row lock: the open downtime event closed, a new one opened for `down`
    and `maintenance`, a history row, the audit row. The status it already has (with the same reason) is refused."""
    machine = locked(session, Machine, machine_id, "Machine")
    status, notes = values["status"], values.get("notes")
    reason = _reason_for(session, status, values.get("reason_code"))
    if status == machine.status:
        _refuse_same(session, machine, reason)
    now = max(utcnow(), machine.status_changed_at)  # the history stays in order whatever the API process's clock
    session.execute(update(DowntimeEvent).where(DowntimeEvent.machine_id == machine.id,
                                                DowntimeEvent.source == "status", DowntimeEvent.ended_at.is_(None))
                    .values(ended_at=now))
    if status in DOWN_STATUSES and reason is not None:
        session.add(DowntimeEvent(machine_id=machine.id, reason_id=reason.id, started_at=now, source="status",
                                  notes=notes, logged_by_id=actor_id))
    previous = machine.status
    session.add(MachineStatusChange(machine_id=machine.id, from_status=previous, to_status=status,
                                    reason_code=reason.code if reason else None, notes=notes, changed_by_id=actor_id,
                                    changed_at=now))
    machine.status, machine.status_changed_at, machine.version = status, now, machine.version + 1
    audit.record(session, actor_id=actor_id, entity_type=ENTITY, entity_id=machine.id,
                 action_type="MACHINE_STATUS_CHANGED",
                 payload_diff={"status": {"old": previous, "new": status},
                               "reason_code": reason.code if reason else None})
    session.flush()
    down = status in DOWN_STATUSES and reason is not None
    return StatusChanged(machine, now if down else None, reason.name if down and reason else None)


def _reason_for(session: Session, status: str, code: str | None) -> DowntimeReason | None:
    """The reason a change names (`down` must name one), `preventive_maintenance` for a maintenance naming none."""
    if status == "down" and not code:
        raise field_error("reason_code", "A machine going down needs a reason_code")
    if code:
        return require_reason(session, code, "reason_code")
    return require_reason(session, PREVENTIVE, "reason_code") if status == "maintenance" else None


def _refuse_same(session: Session, machine: Machine, reason: DowntimeReason | None) -> None:
    """A machine already in a status stays there: only a new reason for its downtime is a change."""
    if machine.status in DOWN_STATUSES and reason is not None:
        current = session.scalar(select(DowntimeEvent.reason_id).where(
            DowntimeEvent.machine_id == machine.id, DowntimeEvent.source == "status",
            DowntimeEvent.ended_at.is_(None)).limit(1))
        if current != reason.id:
            return
    raise AppError("INVALID_STATUS", 400, "Status unchanged",
                   f"Machine {machine.machine_code} is already {machine.status}")


# --- reads --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MachineRow:
    """A machine as the list shows it."""

    machine: Machine
    plant_name: str
    current_work_order: tuple[int, str] | None
    utilization_percent: Decimal
    last_maintenance_date: date | None
    next_maintenance_due: date | None


def list_machines(session: Session, offset: int, limit: int, *, plant_id: int | None, status: str | None,
                  search: str | None, now: datetime) -> tuple[list[MachineRow], int]:
    """A page of machines by id (nine statements whatever it holds: the count, the page, then the details)."""
    conditions: list[ColumnElement[bool]] = []
    if plant_id is not None:
        conditions.append(Machine.plant_id == plant_id)
    if status is not None:
        conditions.append(Machine.status == status)
    if search:
        conditions.append(catalog.contains(search, Machine.name, Machine.machine_code))
    total = catalog.count(session, select(Machine.id).where(*conditions))
    page = list(session.execute(select(Machine, Plant.name).join(Plant, Plant.id == Machine.plant_id)
                                .where(*conditions).order_by(Machine.id).offset(offset).limit(limit)).tuples())
    return _details(session, page, now), total


def get_machine(session: Session, machine_id: int, now: datetime) -> MachineRow:
    found = session.execute(select(Machine, Plant.name).join(Plant, Plant.id == Machine.plant_id)
                            .where(Machine.id == machine_id)).tuples().first()
    if found is None:
        raise not_found("Machine", machine_id)
    return _details(session, [found], now)[0]


def _details(session: Session, page: Sequence[tuple[Machine, str]], now: datetime) -> list[MachineRow]:
    """What the list shows beyond the row, for a whole page at once (a fixed number of statements)."""
    if not page:
        return []
    machines = [machine for machine, _ in page]
    orders = _current_work_orders(session, [m.id for m in machines])
    utilization = _utilization(session, machines, now)
    last, due = _maintenance(session, [m.id for m in machines])
    return [MachineRow(machine, plant_name, orders.get(machine.id), utilization[machine.id], last.get(machine.id),
                       due.get(machine.id)) for machine, plant_name in page]


def _current_work_orders(session: Session, machine_ids: list[int]) -> dict[int, tuple[int, str]]:
    """The work order in progress on each machine (the latest started when there are several)."""
    rows = session.execute(
        select(WorkOrder.machine_id, WorkOrder.id, WorkOrder.work_order_number)
        .where(WorkOrder.machine_id.in_(machine_ids), WorkOrder.status == "in_progress")
        .order_by(WorkOrder.machine_id, WorkOrder.started_at.desc().nulls_last(), WorkOrder.id.desc())
        .distinct(WorkOrder.machine_id))
    return {row.machine_id: (row.id, row.work_order_number) for row in rows}


def _utilization(session: Session, machines: list[Machine], now: datetime) -> dict[int, Decimal]:
    """Each machine's utilization over the last 7 days (four statements for the page)."""
    start = now - timedelta(days=UTILIZATION_DAYS)
    patterns = plant_patterns(session, {m.plant_id for m in machines})
    found = timelines(session, [m.id for m in machines], start, now, load_reasons(session))
    return {m.id: usage(found[m.id], available_spans(patterns[m.plant_id], start, now)).utilization_percent
            for m in machines}


def _maintenance(session: Session, machine_ids: list[int]) -> tuple[dict[int, date], dict[int, date]]:
    """Each machine's last maintenance (its latest completed PM work order, or its schedules' last PM date) and
    next due date (the earliest of its active calendar schedules, as the PM schedules compute it). Two
    statements."""
    last: dict[int, date] = {}
    for machine_id, completed_at in session.execute(
            select(PmWorkOrder.machine_id, func.max(PmWorkOrder.completed_at))
            .where(PmWorkOrder.machine_id.in_(machine_ids), PmWorkOrder.status == "completed")
            .group_by(PmWorkOrder.machine_id)).tuples():
        if completed_at is not None:
            last[machine_id] = completed_at.astimezone(UTC).date()
    due: dict[int, date] = {}
    for schedule in session.scalars(select(PmSchedule).where(PmSchedule.machine_id.in_(machine_ids))):
        if schedule.last_pm_date is not None:
            last[schedule.machine_id] = max(last.get(schedule.machine_id, date.min), schedule.last_pm_date)
        next_due = _next_due(schedule)
        if schedule.is_active and next_due is not None:
            due[schedule.machine_id] = min(due.get(schedule.machine_id, date.max), next_due)
    return last, due


def _next_due(schedule: PmSchedule) -> date | None:
    """A calendar schedule's next due date as the PM schedules compute it; None for a meter (it needs the
    machine's running hours: the PM schedules' list shows it)."""
    if schedule.frequency_type != "calendar" or schedule.frequency_unit not in CALENDAR_UNITS:
        return None
    return pm_schedules.calendar_due_date(schedule)
