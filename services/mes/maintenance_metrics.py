"""Maintenance KPIs over a period (manufacturing-erp.md §6.7 `GET /api/v1/maintenance-metrics`), for one plant's
machines or all of them. The formulas (README "ERP: equipment"), over whole UTC days cut at now:

- MTBF and MTTR as for one machine (services/mes/utilization.py `Reliability`), summed over the machines: MTTR =
  unplanned downtime ÷ failures; MTBF = (available time − unplanned downtime inside it) ÷ failures; None without a
  failure;
- PM compliance = PM work orders scheduled in the period and completed on or before their scheduled date ÷ those
  scheduled in it, × 100 (one not completed whose date has not passed yet is not judged); None when none;
- total downtime = every machine's down and maintenance time with the logged events (an overlap once), planned or
  not; the Pareto gives it by reason (minutes and percent of the total, largest first);
- unplanned downtime % = unplanned downtime inside the available time ÷ the available time × 100.

A fixed number of statements whatever the number of machines. Never writes."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.mes.equipment import Machine
from models.mes.maintenance import PmWorkOrder
from services.mes.intervals import ZERO, Piece, Share, allocate, available_spans
from services.mes.plants import get_plant
from services.mes.utilization import Reliability, check_range, load_reasons, percent, period, plant_patterns, timelines

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class MaintenanceMetrics:
    reliability: Reliability
    pm_compliance_percent: Decimal | None
    total_downtime: timedelta
    unplanned_percent: Decimal | None
    pareto: list[tuple[str, timedelta, Decimal]]  # reason, time, percent of the total


def maintenance_metrics(session: Session, plant_id: int | None, start_date: date, end_date: date,
                        now: datetime) -> MaintenanceMetrics:
    """The KPIs of the plant's machines (all machines without a plant) from `start_date` to `end_date`."""
    check_range(start_date, end_date)
    if plant_id is not None:
        get_plant(session, plant_id)
    span = period(start_date, end_date, now)
    machines = list(session.scalars(select(Machine).where(*([Machine.plant_id == plant_id] if plant_id else []))
                                    .order_by(Machine.id)))
    patterns = plant_patterns(session, {m.plant_id for m in machines})
    found = timelines(session, [m.id for m in machines], span.start, span.end, load_reasons(session))
    figures, shares = Reliability(), dict[str, Share]()
    for machine in machines:
        timeline = found[machine.id]
        figures.add(timeline, available_spans(patterns[machine.plant_id], span.start, span.end), span.start,
                    span.end)
        _gather(shares, allocate([Piece(d.span, d.reason) for d in timeline.downtime], [(span.start, span.end)]))
    downtime = sum((share.time for share in shares.values()), ZERO)
    pareto = [(reason, share.time, percent(share.time, downtime, TENTH) or Decimal(0))
              for reason, share in sorted(shares.items(), key=lambda item: (-item[1].time, item[0]))]
    return MaintenanceMetrics(figures, pm_compliance(session, plant_id, start_date, end_date, now.date()), downtime,
                              percent(figures.unplanned_in_available, figures.available, TENTH), pareto)


def _gather(into: dict[str, Share], shares: dict[str, Share]) -> None:
    for reason, share in shares.items():
        total = into.setdefault(reason, Share())
        total.time += share.time
        total.occurrences += share.occurrences


def pm_compliance(session: Session, plant_id: int | None, start_date: date, end_date: date,
                  today: date) -> Decimal | None:
    """Completed on or before their scheduled date ÷ PM work orders scheduled in the period, × 100 (1 decimal); a
    PM work order not completed and not yet past its date is left out; None when none is counted."""
    query = select(PmWorkOrder.status, PmWorkOrder.scheduled_date, PmWorkOrder.completed_at).where(
        PmWorkOrder.scheduled_date >= start_date, PmWorkOrder.scheduled_date <= end_date)
    if plant_id is not None:
        query = query.join(Machine, Machine.id == PmWorkOrder.machine_id).where(Machine.plant_id == plant_id)
    counted = on_time = 0
    for status, scheduled, completed_at in session.execute(query):
        completed = completed_at.astimezone(UTC).date() if status == "completed" and completed_at else None
        if completed is None and scheduled >= today:
            continue
        counted += 1
        on_time += completed is not None and completed <= scheduled
    if not counted:
        return None
    return (Decimal(on_time) * 100 / counted).quantize(TENTH, ROUND_HALF_UP)
