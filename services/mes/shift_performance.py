"""One shift's performance on a date (manufacturing-erp.md §6.6 `GET /api/v1/shift-performance`): its output against
its target, its OEE and first-pass yield, and comparisons with its own recent average and the plant's other shifts
that day. The formulas (README "ERP: equipment"):

- the window: the shift's on that date (a night shift's runs into the next day); planned time = the window less its
  break (taken at the middle), never past now;
- actual units = production logged in the window on the plant's work orders: those with the plant's `plant_id`, or
  with none but a machine of the plant; a plant none of whose work orders says so counts the work orders of no plant;
- downtime = the plant's active machines' down and maintenance minutes (statuses and logged events) inside the
  planned time, summed per machine and divided by the number of machines;
- availability = (planned − downtime) ÷ planned; performance = actual ÷ ((planned − downtime) in hours × Σ the
  machines' capacity per hour), at most 1; quality = passed ÷ all inspection logs of the window on the plant's work
  orders (1 when none); OEE = availability × performance × quality × 100;
- comparisons: `vs_<shift>_avg` against the shift's average actual units over the 7 days before, on the days it
  ran; `vs_<other shift>_same_day` against each other active shift of the plant running that date; signed percent
  with one decimal, `n/a` when the base is 0. Never writes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from models.mes import InspectionLog, ProductionLog, WorkOrder
from models.mes.equipment import Machine, Shift
from services.common.guards import field_error
from services.mes.intervals import ZERO, Span, clip, intersect, shift_window, total, working_spans
from services.mes.shifts import get_shift, key_of
from services.mes.utilization import load_reasons, minutes, pattern_of, timelines

COMPARED_DAYS = 7
ONE = Decimal(1)


@dataclass(frozen=True)
class ShiftPerformance:
    shift: Shift
    day: date
    actual_units: int
    attainment_percent: Decimal | None
    oee_percent: Decimal
    downtime_minutes: int
    fpy_percent: Decimal
    comparison: dict[str, str]


def shift_performance(session: Session, shift_id: int, day: date, now: datetime) -> ShiftPerformance:
    """The shift's figures on `day` (404 for an unknown shift; a date too near the calendar's ends is refused)."""
    shift = get_shift(session, shift_id)
    if not date.min + timedelta(days=COMPARED_DAYS + 1) <= day < date.max:
        raise field_error("date", f"date {day} is outside the calendar this service reckons with")
    pattern = pattern_of(shift)
    start, end = shift_window(pattern, day)
    planned = clip(working_spans(pattern, day), start, min(end, now))
    orders = plant_work_orders(session, shift.plant_id)
    actual = units(session, orders, (start, end))
    downtime = machine_downtime(session, shift.plant_id, planned)
    run = total(planned) - downtime
    availability = _ratio(run, total(planned))
    performance = min(ONE, _ratio_units(actual, run, capacity(session, shift.plant_id)))
    quality = first_pass_yield(session, orders, (start, end))
    oee = (availability * performance * quality * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    target = shift.production_target_units
    attainment = (Decimal(actual) * 100 / target).quantize(Decimal("0.01"), ROUND_HALF_UP) if target else None
    return ShiftPerformance(shift, day, actual, attainment, oee, minutes(downtime),
                            (quality * 100).quantize(Decimal("0.1"), ROUND_HALF_UP),
                            comparison(session, shift, day, actual, orders))


def plant_work_orders(session: Session, plant_id: int) -> ColumnElement[bool]:
    """Which work orders are the plant's: its `plant_id`, or none but one of its machines; when the plant has no
    work order at all, the work orders of no plant (a site that never says which plant makes what)."""
    machines = select(Machine.id).where(Machine.plant_id == plant_id)
    own = or_(WorkOrder.plant_id == plant_id, and_(WorkOrder.plant_id.is_(None), WorkOrder.machine_id.in_(machines)))
    if session.scalar(select(WorkOrder.id).where(own).limit(1)) is not None:
        return own
    return WorkOrder.plant_id.is_(None)


def units(session: Session, orders: ColumnElement[bool], window: Span) -> int:
    """Units logged in the window on those work orders."""
    return int(session.scalar(
        select(func.coalesce(func.sum(ProductionLog.quantity_completed), 0))
        .join(WorkOrder, WorkOrder.id == ProductionLog.work_order_id)
        .where(orders, ProductionLog.logged_at >= window[0], ProductionLog.logged_at < window[1])) or 0)


def machine_downtime(session: Session, plant_id: int, planned: list[Span]) -> timedelta:
    """The plant's active machines' downtime inside the planned time, on average per machine (0 without any)."""
    machine_ids = list(session.scalars(select(Machine.id).where(Machine.plant_id == plant_id,
                                                               Machine.is_active.is_(True))))
    if not machine_ids or not planned:
        return ZERO
    found = timelines(session, machine_ids, planned[0][0], planned[-1][1], load_reasons(session))
    lost = sum((total(intersect([d.span for d in timeline.downtime], planned)) for timeline in found.values()), ZERO)
    return lost / len(machine_ids)


def capacity(session: Session, plant_id: int) -> Decimal:
    """Units an hour the plant's active machines can make together."""
    return Decimal(session.scalar(select(func.coalesce(func.sum(Machine.capacity_units_per_hour), 0))
                                  .where(Machine.plant_id == plant_id, Machine.is_active.is_(True))) or 0)


def first_pass_yield(session: Session, orders: ColumnElement[bool], window: Span) -> Decimal:
    """Passed ÷ all inspection logs of the window on those work orders; 1 when there are none."""
    passed, inspected = session.execute(
        select(func.count(case((InspectionLog.overall_result == "pass", 1))), func.count(InspectionLog.id))
        .join(WorkOrder, WorkOrder.id == InspectionLog.work_order_id)
        .where(orders, InspectionLog.inspected_at >= window[0], InspectionLog.inspected_at < window[1])).one()
    return Decimal(passed) / Decimal(inspected) if inspected else ONE


def comparison(session: Session, shift: Shift, day: date, actual: int,
               orders: ColumnElement[bool]) -> dict[str, str]:
    """The shift against its average of the 7 days before (the days it ran) and against the plant's other active
    shifts running that date."""
    pattern = pattern_of(shift)
    earlier = [day - timedelta(days=n) for n in range(COMPARED_DAYS, 0, -1)]
    ran = [units(session, orders, shift_window(pattern, d)) for d in earlier if pattern.runs_on(d)]
    found = {f"vs_{key_of(shift.name)}_avg": signed_change(Decimal(actual),
                                                          Decimal(sum(ran)) / len(ran) if ran else Decimal(0))}
    others = session.scalars(select(Shift).where(Shift.plant_id == shift.plant_id, Shift.id != shift.id,
                                                 Shift.is_active.is_(True)).order_by(Shift.start_time, Shift.id))
    for other in others:
        other_pattern = pattern_of(other)
        if other_pattern.runs_on(day):
            found[f"vs_{key_of(other.name)}_same_day"] = signed_change(
                Decimal(actual), Decimal(units(session, orders, shift_window(other_pattern, day))))
    return found


def signed_change(value: Decimal, base: Decimal) -> str:
    """(value − base) ÷ base as a signed percent with one decimal (`+2.5%`, `-8.3%`); `n/a` when the base is 0."""
    if base == 0:
        return "n/a"
    change = ((value - base) * 100 / base).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{'-' if change < 0 else '+'}{abs(change)}%"


def _ratio(part: timedelta, whole: timedelta) -> Decimal:
    return Decimal(part.total_seconds()) / Decimal(whole.total_seconds()) if whole > ZERO else Decimal(0)


def _ratio_units(actual: int, run: timedelta, per_hour: Decimal) -> Decimal:
    """Actual units ÷ what the machines could have made in the run time (0 when they could make nothing)."""
    ideal = Decimal(run.total_seconds()) / 3600 * per_hour
    return Decimal(actual) / ideal if ideal > 0 else Decimal(0)
