"""ERP downtime (manufacturing-erp.md §6.7 `POST /api/v1/downtime-events`; the reasons' list and create are
additions): the reasons a machine stands still (eight seeded, `preventive_maintenance` and `no_demand` planned) and
downtime logged afterwards with explicit times, answered with the machine's MTBF and MTTR over the last
MAINTENANCE_METRICS_DAYS. A logged event takes the machine's row lock, so two events of one machine logged at once
cannot both pass the overlap check. Never commits."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from core.timeutil import iso_z
from models.mes import WorkOrder
from models.mes.equipment import DowntimeEvent, DowntimeReason, Machine
from services import audit
from services.catalog import master_data as catalog
from services.common.guards import field_error
from services.mes.machines import require_reason
from services.mes.utilization import Reliability, reliability


def list_reasons(session: Session, offset: int, limit: int,
                 active_only: bool) -> tuple[list[DowntimeReason], int]:
    conditions: list[ColumnElement[bool]] = [DowntimeReason.is_active.is_(True)] if active_only else []
    rows = session.scalars(select(DowntimeReason).where(*conditions).order_by(DowntimeReason.id)
                           .offset(offset).limit(limit))
    return list(rows), catalog.count(session, select(DowntimeReason.id).where(*conditions))


def create_reason(session: Session, actor_id: int, values: dict[str, Any]) -> DowntimeReason:
    """A new downtime reason; a code already used is refused, naming `code`."""
    taken = catalog.duplicate("Downtime reason", "code", values["code"])
    if catalog.taken(session, DowntimeReason.code, values["code"]):
        raise taken
    reason = catalog.insert(session, DowntimeReason(code=values["code"], name=values["name"],
                                                    is_planned=values.get("is_planned", False), is_active=True),
                            taken)
    catalog.record_created(session, actor_id, reason, "downtime_reason", "DOWNTIME_REASON_CREATED")
    return reason


@dataclass(frozen=True)
class LoggedDowntime:
    event: DowntimeEvent
    machine: Machine
    reason: DowntimeReason
    reliability: Reliability


def log_event(session: Session, actor_id: int, values: dict[str, Any], now: datetime,
              metrics_days: int) -> LoggedDowntime:
    """A past downtime of a machine, under its row lock: the end after the start and not in the future, no overlap
    with another event of the machine (each refusal names its field); then the machine's reliability over the last
    `metrics_days` days, this event included."""
    machine = session.scalars(select(Machine).where(Machine.id == values["machine_id"]).with_for_update()).first()
    if machine is None:
        raise field_error("machine_id", f"Machine {values['machine_id']} not found")
    reason = require_reason(session, values["downtime_reason_code"], "downtime_reason_code")
    work_order_id = values.get("work_order_id")
    if work_order_id is not None and session.get(WorkOrder, work_order_id) is None:
        raise field_error("work_order_id", f"Work order {work_order_id} not found")
    started, ended = values["started_at"], values["ended_at"]
    _check_times(started, ended, now)
    _check_overlap(session, machine, started, ended)
    event = DowntimeEvent(machine_id=machine.id, work_order_id=work_order_id, reason_id=reason.id, started_at=started,
                          ended_at=ended, source="logged", notes=values.get("notes"), logged_by_id=actor_id)
    session.add(event)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="downtime_event", entity_id=event.id,
                 action_type="DOWNTIME_LOGGED",
                 payload_diff=audit.created({"machine_id": machine.id, "reason": reason.code, "started_at": started,
                                             "ended_at": ended, "work_order_id": work_order_id}))
    figures = reliability(session, [machine], now - timedelta(days=metrics_days), now)
    return LoggedDowntime(event, machine, reason, figures)


def _check_times(started: datetime, ended: datetime, now: datetime) -> None:
    if ended <= started:
        raise field_error("ended_at", f"ended_at {iso_z(ended)} must be after started_at {iso_z(started)}")
    if ended > now:
        raise field_error("ended_at", f"ended_at {iso_z(ended)} is in the future; log downtime once it has ended "
                                        "(or set the machine's status)")


def _check_overlap(session: Session, machine: Machine, started: datetime, ended: datetime) -> None:
    """Refuse a span that overlaps another event of the machine (an open one lasts until it ends)."""
    other = session.scalars(
        select(DowntimeEvent).where(DowntimeEvent.machine_id == machine.id, DowntimeEvent.started_at < ended,
                                    func.coalesce(DowntimeEvent.ended_at, literal("infinity").cast(
                                        DowntimeEvent.ended_at.type)) > started)
        .order_by(DowntimeEvent.started_at).limit(1)).first()
    if other is not None:
        until = f"to {iso_z(other.ended_at)}" if other.ended_at else "still open"
        raise field_error("started_at", f"Overlaps downtime event {other.id} of machine {machine.machine_code} "
                                          f"({iso_z(other.started_at)} {until})")
