"""How a machine's time was spent (manufacturing-erp.md §6.5 utilization, §6.7 MTBF/MTTR): its status history and
the downtime events logged afterwards, read for a period in a fixed number of statements, against the available time
of its plant (the plant's active shifts, breaks excluded; the whole calendar when the plant has none). The arithmetic
is services/mes/intervals.py; the formulas are README "ERP: equipment".

- productive = time `running`, setup = time `setup`, downtime = time `down` or `maintenance` together with the logged
  events (a logged event counts as if the machine had been down then, so it is neither productive nor setup), each
  inside the available time, an overlap counted once;
- reliability: unplanned downtime (reasons not `is_planned`), its pieces (failures), MTTR = unplanned downtime ÷
  failures, MTBF = (available − unplanned downtime inside it) ÷ failures, in hours.

A period never reaches past `now`: time that has not happened is neither available nor lost. Never writes."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from models.mes.equipment import DowntimeEvent, DowntimeReason, Machine, MachineStatusChange, Shift
from services.common.guards import field_error
from services.mes.intervals import (
    ZERO,
    Piece,
    Share,
    ShiftPattern,
    Span,
    StatusChange,
    allocate,
    available_spans,
    intersect,
    merge,
    status_spans,
    subtract,
    total,
)

DOWN_STATUSES = ("down", "maintenance")
PREVENTIVE = "preventive_maintenance"  # the reason of a maintenance that names none
UNSPECIFIED = "Unspecified"  # a down status whose history row names no reason (written by hand)
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Reason:
    id: int
    code: str
    name: str
    planned: bool


@dataclass(frozen=True)
class Reasons:
    """Every downtime reason, by id and by code (a small table, read whole)."""

    by_id: dict[int, Reason]
    by_code: dict[str, Reason]

    def of_status(self, status: str, code: str | None) -> tuple[str, bool]:
        """The reason name and whether it is planned of a down or maintenance status."""
        reason = self.by_code.get(code or (PREVENTIVE if status == "maintenance" else ""))
        if reason is None:
            return UNSPECIFIED, status == "maintenance"
        return reason.name, reason.planned

    def of_event(self, reason_id: int | None) -> tuple[str, bool]:
        reason = self.by_id.get(reason_id or 0)
        return (reason.name, reason.planned) if reason else (UNSPECIFIED, False)


def load_reasons(session: Session) -> Reasons:
    rows = [Reason(r.id, r.code, r.name, r.is_planned) for r in session.execute(
        select(DowntimeReason.id, DowntimeReason.code, DowntimeReason.name, DowntimeReason.is_planned))]
    return Reasons({r.id: r for r in rows}, {r.code: r for r in rows})


@dataclass(frozen=True)
class Downtime:
    """A span a machine stood still, why, and whether that was planned."""

    span: Span
    reason: str
    planned: bool


@dataclass
class Timeline:
    """A machine's statuses and downtime around a period (spans may start before it: callers clip)."""

    statuses: list[tuple[Span, str]] = field(default_factory=list)
    downtime: list[Downtime] = field(default_factory=list)

    def spans_of(self, status: str) -> list[Span]:
        return [span for span, found in self.statuses if found == status]


# --- reading ------------------------------------------------------------------------------------------------------

def pattern_of(shift: Shift) -> ShiftPattern:
    return ShiftPattern(shift.start_time, shift.end_time, shift.break_duration_minutes, frozenset(shift.active_days))


def plant_patterns(session: Session, plant_ids: Collection[int]) -> dict[int, list[ShiftPattern]]:
    """The active shift patterns of each plant (one statement); a plant without any has none listed."""
    found: dict[int, list[ShiftPattern]] = {plant_id: [] for plant_id in plant_ids}
    if plant_ids:
        for shift in session.scalars(select(Shift).where(Shift.plant_id.in_(list(plant_ids)),
                                                         Shift.is_active.is_(True)).order_by(Shift.id)):
            found[shift.plant_id].append(pattern_of(shift))
    return found


def timelines(session: Session, machine_ids: Collection[int], start: datetime, end: datetime,
              reasons: Reasons) -> dict[int, Timeline]:
    """Each machine's status spans and downtime over [start, end) (two statements whatever the number of machines:
    the history from the last change at or before `start`, and the events logged in the period)."""
    found = {machine_id: Timeline() for machine_id in machine_ids}
    if not found or start >= end:
        return found
    changes: dict[int, list[StatusChange]] = {machine_id: [] for machine_id in found}
    for machine_id, at, status, code in _history(session, list(found), start, end):
        changes[machine_id].append(StatusChange(at, status, code))
    for machine_id, history in changes.items():
        for piece in status_spans(history, end):
            found[machine_id].statuses.append((piece.span, piece.status))
            if piece.status in DOWN_STATUSES:
                name, planned = reasons.of_status(piece.status, piece.reason_code)
                found[machine_id].downtime.append(Downtime(piece.span, name, planned))
    for event in session.execute(
            select(DowntimeEvent.machine_id, DowntimeEvent.started_at, DowntimeEvent.ended_at,
                   DowntimeEvent.reason_id)
            .where(DowntimeEvent.machine_id.in_(list(found)), DowntimeEvent.source == "logged",
                   DowntimeEvent.started_at < end, DowntimeEvent.ended_at > start)):
        name, planned = reasons.of_event(event.reason_id)
        found[event.machine_id].downtime.append(Downtime((event.started_at, event.ended_at or end), name, planned))
    return found


def _history(session: Session, machine_ids: list[int], start: datetime,
             end: datetime) -> list[tuple[int, datetime, str, str | None]]:
    """The status changes of the machines before `end`, from each machine's last change at or before `start`."""
    earlier = aliased(MachineStatusChange)
    last_before = (select(earlier.changed_at).where(earlier.machine_id == MachineStatusChange.machine_id,
                                                    earlier.changed_at <= start)
                   .order_by(earlier.changed_at.desc()).limit(1).scalar_subquery())
    rows = session.execute(
        select(MachineStatusChange.machine_id, MachineStatusChange.changed_at, MachineStatusChange.to_status,
               MachineStatusChange.reason_code)
        .where(MachineStatusChange.machine_id.in_(machine_ids), MachineStatusChange.changed_at < end,
               or_(last_before.is_(None), MachineStatusChange.changed_at >= last_before))
        .order_by(MachineStatusChange.machine_id, MachineStatusChange.changed_at, MachineStatusChange.id))
    return [tuple(row) for row in rows]  # type: ignore[misc]


# --- utilization --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Usage:
    """How a machine's available time in a period was spent (each figure inside the available time)."""

    available: timedelta
    productive: timedelta
    setup: timedelta
    downtime: timedelta
    breakdown: dict[str, Share]

    @property
    def utilization_percent(self) -> Decimal:
        """productive ÷ available × 100, 2 decimals (0 when nothing was available)."""
        return percent(self.productive, self.available, Decimal("0.01")) or Decimal(0)


def usage(timeline: Timeline, available: Sequence[Span]) -> Usage:
    """Productive, setup and down time inside `available`; down time (statuses and logged events) wins over a
    running or setup status at the same time, and each minute of it is given to one reason only."""
    down = intersect([d.span for d in timeline.downtime], available)
    running = subtract(intersect(timeline.spans_of("running"), available), down)
    setup = subtract(intersect(timeline.spans_of("setup"), available), down)
    breakdown = allocate([Piece(d.span, d.reason) for d in timeline.downtime], available)
    return Usage(total(available), total(running), total(setup), total(down), breakdown)


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `start_date` to `end_date` (both included), as [start, end) cut at now."""

    start_date: date
    end_date: date
    start: datetime
    end: datetime


def check_range(start_date: date, end_date: date) -> None:
    """A period of whole days: its start not after its end, at most MAX_RANGE_DAYS days."""
    if start_date > end_date:
        raise field_error("start_date", f"start_date {start_date} is after end_date {end_date}")
    if (end_date - start_date).days >= MAX_RANGE_DAYS:
        raise field_error("end_date", f"A period covers at most {MAX_RANGE_DAYS} days")


def period(start_date: date, end_date: date, now: datetime) -> Period:
    start = datetime.combine(start_date, time.min, UTC)
    end = now if end_date >= now.date() else min(datetime.combine(end_date + timedelta(days=1), time.min, UTC), now)
    return Period(start_date, end_date, start, max(start, end))


def machine_usage(session: Session, machine: Machine, start: datetime, end: datetime) -> Usage:
    """One machine's usage over [start, end): four statements (reasons, shifts, history, events)."""
    reasons = load_reasons(session)
    available = available_spans(plant_patterns(session, [machine.plant_id])[machine.plant_id], start, end)
    timeline = timelines(session, [machine.id], start, end, reasons)[machine.id]
    return usage(timeline, available)


# --- reliability --------------------------------------------------------------------------------------------------

@dataclass
class Reliability:
    """Unplanned downtime and failures of machines over a period, against their available time."""

    available: timedelta = ZERO
    unplanned: timedelta = ZERO  # wall-clock time inside the period
    unplanned_in_available: timedelta = ZERO
    failures: int = 0

    def add(self, timeline: Timeline, available: Sequence[Span], start: datetime, end: datetime) -> None:
        """One machine's figures: its unplanned pieces inside the period (an overlap once) and the part of them
        inside its available time."""
        pieces = [Piece(d.span, "unplanned") for d in timeline.downtime if not d.planned]
        share = allocate(pieces, [(start, end)]).get("unplanned", Share())
        self.available += total(available)
        self.unplanned += share.time
        self.unplanned_in_available += total(intersect(merge(p.span for p in pieces), available))
        self.failures += share.occurrences

    @property
    def mttr_hours(self) -> Decimal | None:
        """Unplanned downtime ÷ failures, hours with 1 decimal; None without a failure."""
        return hours(self.unplanned / self.failures) if self.failures else None

    @property
    def mtbf_hours(self) -> Decimal | None:
        """(Available time − unplanned downtime inside it) ÷ failures, hours with 1 decimal; None without one."""
        return hours((self.available - self.unplanned_in_available) / self.failures) if self.failures else None


def reliability(session: Session, machines: Sequence[Machine], start: datetime, end: datetime) -> Reliability:
    """The machines' reliability over [start, end): four statements whatever their number."""
    reasons = load_reasons(session)
    patterns = plant_patterns(session, {m.plant_id for m in machines})
    found = timelines(session, [m.id for m in machines], start, end, reasons)
    figures = Reliability()
    for machine in machines:
        figures.add(found[machine.id], available_spans(patterns[machine.plant_id], start, end), start, end)
    return figures


# --- rounding -----------------------------------------------------------------------------------------------------

def hours(value: timedelta) -> Decimal:
    return (Decimal(value.total_seconds()) / Decimal(3600)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def minutes(value: timedelta) -> int:
    """Whole minutes, half up (the contract shows minutes as integers)."""
    return int((Decimal(value.total_seconds()) / Decimal(60)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent(part: timedelta, whole: timedelta, places: Decimal) -> Decimal | None:
    """part ÷ whole × 100 rounded half up to `places`; None when the whole is nothing."""
    if whole <= ZERO:
        return None
    return (Decimal(part.total_seconds()) * 100 / Decimal(whole.total_seconds())).quantize(places, ROUND_HALF_UP)
