"""Shift handovers (manufacturing-erp.md §6.6 `POST /api/v1/shift-handovers`; the list, the detail and the
acknowledgement are additions): the notes one shift leaves the next, once per shift and date, acknowledged by someone
other than who logged them. Each has a lifecycle (`shift-handover-{id}`, workflows/mes/shift_handover.py) that
reminds the supervisors once when nobody acknowledges it in time; its effect is `remind` here. Never commits."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.timeutil import iso_z, utcnow
from dto.mes.handovers import SHIFT_HANDOVER, HandoverReminder, HandoverState
from models.mes import WorkOrder
from models.mes.equipment import Plant, Shift, ShiftHandover
from services import audit, notifications
from services.catalog import master_data as catalog
from services.common.guards import field_error, locked
from services.identity import people
from services.mes.intervals import DAY_NAMES
from services.mes.machines import require_machine
from services.mes.utilization import pattern_of

NOTES_IN_MAIL = 500  # characters of the notes a reminder quotes


@dataclass(frozen=True)
class Handover:
    """A handover with what its answer names: its shift's name and the people in it (`{id, name}`)."""

    row: ShiftHandover
    shift_name: str
    logged_by: dict[str, Any]
    acknowledged_by: dict[str, Any] | None


def create(session: Session, actor_id: int, values: dict[str, Any]) -> Handover:
    """A handover for a shift on a date it runs; an unknown shift, work order or machine, or a second handover for
    the same shift and date, is refused naming its field (a race for the same shift and date loses the same way)."""
    shift = session.get(Shift, values["shift_id"])
    if shift is None:
        raise field_error("shift_id", f"Shift {values['shift_id']} not found")
    day: date = values["date"]
    if not pattern_of(shift).runs_on(day):
        raise field_error("date", f"{shift.name} does not run on {DAY_NAMES[day.weekday()]}s ({day})")
    _check_references(session, values)
    taken = field_error("date", f"{shift.name} already has a handover on {day}")
    if session.scalar(select(ShiftHandover.id).where(ShiftHandover.shift_id == shift.id,
                                                     ShiftHandover.date == day)) is not None:
        raise taken
    handover = catalog.insert(session, ShiftHandover(
        shift_id=shift.id, date=day, logged_by_id=actor_id, handover_notes=values["handover_notes"],
        wip_work_orders=values.get("wip_work_orders") or [], issues=values.get("issues") or []), taken)
    audit.record(session, actor_id=actor_id, entity_type=SHIFT_HANDOVER, entity_id=handover.id,
                 action_type="SHIFT_HANDOVER_LOGGED",
                 payload_diff=audit.created({"shift_id": shift.id, "date": day,
                                             "wip_work_orders": len(handover.wip_work_orders),
                                             "issues": len(handover.issues)}))
    return _views(session, [handover])[0]


def _check_references(session: Session, values: dict[str, Any]) -> None:
    """Every work order and machine the handover names exists (the first missing one is refused, by its path)."""
    wanted = [item["work_order_id"] for item in values.get("wip_work_orders") or []]
    found = set(session.scalars(select(WorkOrder.id).where(WorkOrder.id.in_(wanted)))) if wanted else set()
    for index, work_order_id in enumerate(wanted):
        if work_order_id not in found:
            raise field_error(f"wip_work_orders.{index}.work_order_id", f"Work order {work_order_id} not found")
    for index, issue in enumerate(values.get("issues") or []):
        if issue.get("machine_id") is not None:
            require_machine(session, issue["machine_id"], f"issues.{index}.machine_id")


def acknowledge(session: Session, user_id: int, handover_id: int) -> Handover:
    """The next shift has read the handover: not by who logged it, and once."""
    handover = locked(session, ShiftHandover, handover_id, "Shift handover")
    if handover.logged_by_id == user_id:
        raise AppError("SELF_ACKNOWLEDGEMENT", 400, "Cannot acknowledge handover",
                       "You logged this handover; someone taking over the shift acknowledges it")
    if handover.acknowledged_at is not None:
        by = people(session, [handover.acknowledged_by_id]).get(handover.acknowledged_by_id or 0)
        raise AppError("ALREADY_ACKNOWLEDGED", 400, "Handover already acknowledged",
                       f"Acknowledged by {by['name'] if by else 'someone'} at {iso_z(handover.acknowledged_at)}")
    handover.acknowledged_by_id, handover.acknowledged_at = user_id, utcnow()
    audit.record(session, actor_id=user_id, entity_type=SHIFT_HANDOVER, entity_id=handover.id,
                 action_type="SHIFT_HANDOVER_ACKNOWLEDGED",
                 payload_diff={"acknowledged_at": {"old": None, "new": iso_z(handover.acknowledged_at)}})
    session.flush()
    return _views(session, [handover])[0]


def list_handovers(session: Session, offset: int, limit: int, shift_id: int | None,
                   day: date | None) -> tuple[list[Handover], int]:
    """Handovers, the latest date first."""
    conditions: list[ColumnElement[bool]] = []
    if shift_id is not None:
        conditions.append(ShiftHandover.shift_id == shift_id)
    if day is not None:
        conditions.append(ShiftHandover.date == day)
    rows = list(session.scalars(select(ShiftHandover).where(*conditions)
                                .order_by(ShiftHandover.date.desc(), ShiftHandover.id.desc())
                                .offset(offset).limit(limit)))
    total = session.scalar(select(func.count(ShiftHandover.id)).where(*conditions)) or 0
    return _views(session, rows), total


def get_handover(session: Session, handover_id: int) -> Handover:
    handover = session.get(ShiftHandover, handover_id)
    if handover is None:
        raise not_found("Shift handover", handover_id)
    return _views(session, [handover])[0]


def _views(session: Session, rows: list[ShiftHandover]) -> list[Handover]:
    """The shift names and the people of a page of handovers (two statements)."""
    if not rows:
        return []
    names = {shift_id: name for shift_id, name in session.execute(
        select(Shift.id, Shift.name).where(Shift.id.in_({r.shift_id for r in rows}))).tuples()}
    named = people(session, [uid for r in rows for uid in (r.logged_by_id, r.acknowledged_by_id)])
    return [Handover(row, names[row.shift_id], named[row.logged_by_id],
                     named.get(row.acknowledged_by_id) if row.acknowledged_by_id else None) for row in rows]


# --- the lifecycle's effect -----------------------------------------------------------------------------------------

def remind(session: Session, reminder: HandoverReminder) -> HandoverState:
    """Nobody acknowledged the handover in time: every active supervisor is notified, once, and the handover says
    when. A handover acknowledged meanwhile (or already reminded: a retry) is left as it is."""
    handover = locked(session, ShiftHandover, reminder.handover_id, "Shift handover")
    if handover.acknowledged_at is None and handover.reminded_at is None:
        shift, plant = session.execute(select(Shift, Plant).join(Plant, Plant.id == Shift.plant_id)
                                       .where(Shift.id == handover.shift_id)).tuples().one()
        logged_by = people(session, [handover.logged_by_id])[handover.logged_by_id]
        notes = handover.handover_notes
        notifications.enqueue(
            session, key=f"shift-handover-unacknowledged:{handover.id}", kind="shift_handover_unacknowledged",
            recipients=notifications.users_with_role(session, "supervisor"), reference_type=SHIFT_HANDOVER,
            reference_id=handover.id, shift_name=shift.name, plant_name=plant.name, date=handover.date.isoformat(),
            logged_by=logged_by["name"], logged_at=iso_z(handover.created_at), waited=duration(reminder.waited_seconds),
            notes=notes if len(notes) <= NOTES_IN_MAIL else notes[:NOTES_IN_MAIL] + "…", handover_id=handover.id)
        handover.reminded_at = utcnow()
        audit.record(session, actor_id=None, entity_type=SHIFT_HANDOVER, entity_id=handover.id,
                     action_type="SHIFT_HANDOVER_REMINDED",
                     payload_diff={"reminded_at": {"old": None, "new": iso_z(handover.reminded_at)}})
        session.flush()
    return HandoverState(handover_id=handover.id, acknowledged=handover.acknowledged_at is not None,
                         reminded=handover.reminded_at is not None)


def duration(seconds: int) -> str:
    """`1 hour`, `90 minutes`, `45 seconds`: how long a handover waited, as a reminder says it."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
