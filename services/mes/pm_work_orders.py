"""Preventive-maintenance work orders (manufacturing-erp.md §6.7 `POST /api/v1/pm-work-orders`; list, detail and
checklist are additions): `PM-YYYY-NNN` on a machine, for a schedule's due date (at most one per schedule and
date), with the schedule's checklist. Their lifecycle (`pm-work-order-{id}`) is held as data (`pm_work_order`:
planned → in_progress → completed, or cancelled); its assignee is the technician. The effects it runs are here,
each in its caller's transaction and harmless to repeat. Never commits."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import provisional, yearly_number
from core.permissions import Perm, has_permission
from core.timeutil import utcnow
from dto.approvals import TransitionRequest, TransitionResult
from dto.mes.maintenance import (
    PM_CREATED,
    PM_ESCALATE,
    PM_WORK_ORDER,
    PmEscalation,
    PmMoved,
    PmScheduleCheck,
    PmState,
    RaisedPm,
    pm_work_order_workflow_id,
)
from models.approvals import WorkflowTransition
from models.identity import User
from models.mes.equipment import Machine
from models.mes.maintenance import PmChecklistItem, PmSchedule, PmWorkOrder
from services import audit, notifications
from services.approvals import definitions
from services.common.guards import field_error
from services.identity import people
from services.mes import pm_schedules

SUPERVISOR = "supervisor"


# --- raising one -------------------------------------------------------------------------------------------

def create(session: Session, actor_id: int | None, values: dict[str, Any], source: str = "manual") -> PmWorkOrder:
    """A PM work order for the schedule's machine and checklist on `scheduled_date`; one already there for that
    schedule and date is refused on `scheduled_date`."""
    schedule = pm_schedules.get(session, values["pm_schedule_id"])
    technician_id = values.get("assigned_technician_id") or schedule.assigned_technician_id
    pm_schedules.check_values(session, {"frequency_type": schedule.frequency_type,
                                        "frequency_unit": schedule.frequency_unit,
                                        "assigned_technician_id": technician_id})
    order = _insert(session, schedule, values["scheduled_date"], technician_id, values, actor_id, source)
    if order is None:
        raise field_error("scheduled_date", f"PM schedule {schedule.id} already has a PM work order for "
                                            f"{values['scheduled_date']}")
    return order


def raise_due(session: Session, check: PmScheduleCheck) -> RaisedPm:
    """A schedule's periodic check: inside the lead time of its next due date (or past it), the PM work order for
    that date, once however often the check runs, and its technician told."""
    schedule = session.scalars(select(PmSchedule).where(PmSchedule.id == check.pm_schedule_id)
                               .with_for_update()).first()
    if schedule is None or not schedule.is_active:
        return RaisedPm()
    due = pm_schedules.due_of(session, schedule)
    if due.next_due_date is None or due.status == "scheduled":
        return RaisedPm()
    order = _insert(session, schedule, due.next_due_date, schedule.assigned_technician_id,
                    {"priority": "normal", "notes": f"Raised by PM schedule {schedule.id}"}, None, "schedule")
    if order is None:
        return RaisedPm()
    _tell_technician(session, order)
    return RaisedPm(pm_work_order_id=order.id)


def _insert(session: Session, schedule: PmSchedule, scheduled_date: date, technician_id: int | None,
            values: dict[str, Any], actor_id: int | None, source: str) -> PmWorkOrder | None:
    """The row (None when the schedule has one for that date already), its checklist, its first history entry and
    its number, taken last."""
    definition = definitions.load(session, PM_WORK_ORDER)
    order_id = session.scalar(pg_insert(PmWorkOrder).values(
        uid=func.gen_random_uuid(), work_order_number=provisional("PM"), pm_schedule_id=schedule.id,
        machine_id=schedule.machine_id, pm_type=schedule.pm_type, status=definition.initial_state,
        scheduled_date=scheduled_date, priority=values.get("priority") or "normal", notes=values.get("notes"),
        assigned_technician_id=technician_id, source=source, created_by_id=actor_id)
        .on_conflict_do_nothing(constraint="uq_pm_work_orders_schedule_date").returning(PmWorkOrder.id))
    if order_id is None:
        return None
    session.add_all([PmChecklistItem(pm_work_order_id=order_id, sequence=n, task=task)
                     for n, task in enumerate(schedule.checklist or [], start=1)])
    order = session.get_one(PmWorkOrder, order_id)
    session.add(WorkflowTransition(entity_type=PM_WORK_ORDER, entity_id=order_id, transition_code=PM_CREATED,
                                   from_state=None, to_state=order.status, performed_by_id=actor_id,
                                   assignee_id=technician_id, performed_at=utcnow(),
                                   op_key=f"{pm_work_order_workflow_id(order_id)}:{PM_CREATED}"))
    session.flush()
    order.work_order_number = yearly_number(session, "PM")
    audit.record(session, actor_id=actor_id, entity_type=PM_WORK_ORDER, entity_id=order_id,
                 action_type="PM_WORK_ORDER_CREATED", payload_diff=audit.created({
                     "work_order_number": order.work_order_number, "pm_schedule_id": schedule.id,
                     "scheduled_date": scheduled_date, "source": source}))
    session.flush()
    return order


def _tell_technician(session: Session, order: PmWorkOrder) -> None:
    technician = session.get(User, order.assigned_technician_id) if order.assigned_technician_id else None
    machine = session.get_one(Machine, order.machine_id)
    notifications.enqueue(session, key=f"pm-work-order-assigned:{order.id}", kind="pm_work_order_assigned",
                          recipients=[technician] if technician else [], reference_type=PM_WORK_ORDER,
                          reference_id=order.id, work_order_number=order.work_order_number,
                          pm_type=order.pm_type, machine=machine.name, scheduled_date=order.scheduled_date)


# --- the lifecycle's effects -------------------------------------------------------------------------------

def locked(session: Session, pm_work_order_id: int) -> PmWorkOrder:
    order = session.scalars(select(PmWorkOrder).where(PmWorkOrder.id == pm_work_order_id).with_for_update()).first()
    if order is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"PM work order {pm_work_order_id} not found")
    return order


def state_of(session: Session, order: PmWorkOrder) -> PmState:
    definition = definitions.load(session, PM_WORK_ORDER)
    assignee = people(session, [order.assigned_technician_id]).get(order.assigned_technician_id or 0)
    return PmState(pm_work_order_id=order.id, work_order_number=order.work_order_number, state=order.status,
                   final=definition.is_final(order.status), assignee_id=order.assigned_technician_id,
                   assignee_name=assignee["name"] if assignee else None, scheduled_date=order.scheduled_date,
                   escalation_level=order.escalation_level, version=order.version,
                   moves=definition.moves_from(order.status))


def current_state(session: Session, pm_work_order_id: int) -> PmState:
    order = session.get(PmWorkOrder, pm_work_order_id)
    if order is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"PM work order {pm_work_order_id} not found")
    return state_of(session, order)


def apply_transition(session: Session, request: TransitionRequest) -> PmMoved:
    """Move the PM work order (locked) along the transition its lifecycle validated. `complete` needs every
    checklist item done and sets the schedule's last PM (so its next due date moves on); `assign` hands the task
    to another user who carries out maintenance."""
    order = locked(session, request.entity_id)
    done = session.scalars(select(WorkflowTransition).where(WorkflowTransition.op_key == request.op_key)).first() \
        if request.op_key else None
    if done is not None:
        return PmMoved(result=_result(done, order), now=state_of(session, order))
    definition = definitions.load(session, PM_WORK_ORDER)
    if request.code not in definition.allowed_from(order.status):
        raise AppError("INVALID_STATUS", 400, "Invalid transition", f"Cannot {request.code} from {order.status}; "
                       f"allowed: {', '.join(definition.allowed_from(order.status)) or 'none'}")
    previous, target, now = order.status, definition.target_of(request.code, order.status), utcnow()
    if request.code == "complete":
        _require_checklist_done(session, order)
        _record_pm_done(session, order, now)
    rule = definition.transition(request.code)
    if rule is not None and rule.assigns:
        _check_assignee(session, request.assignee_id)
        order.assigned_technician_id = request.assignee_id
    _stamp(order, target, now)
    row = WorkflowTransition(entity_type=PM_WORK_ORDER, entity_id=order.id, transition_code=request.code,
                             from_state=previous, to_state=target, performed_by_id=request.actor.id,
                             assignee_id=order.assigned_technician_id, comment=request.comment, performed_at=now,
                             op_key=request.op_key or None)
    session.add(row)
    audit.record(session, actor_id=request.actor.id, entity_type=PM_WORK_ORDER, entity_id=order.id,
                 action_type=f"PM_WORK_ORDER_{request.code.upper()}",
                 payload_diff={"status": {"old": previous, "new": target}, "comment": request.comment})
    session.flush()
    return PmMoved(result=_result(row, order), now=state_of(session, order))


def _stamp(order: PmWorkOrder, target: str, now: datetime) -> None:
    if target != order.status:
        stamp = {"in_progress": "started_at", "completed": "completed_at", "cancelled": "cancelled_at"}.get(target)
        if stamp:
            setattr(order, stamp, now)
    order.status = target
    order.version += 1


def _require_checklist_done(session: Session, order: PmWorkOrder) -> None:
    open_items = session.scalars(select(PmChecklistItem.task).where(
        PmChecklistItem.pm_work_order_id == order.id, PmChecklistItem.completed.is_(False))
        .order_by(PmChecklistItem.sequence)).all()
    if open_items:
        raise AppError("CHECKLIST_OPEN", 400, "Cannot complete PM work order",
                       f"Open checklist items: {'; '.join(open_items)}")


def _record_pm_done(session: Session, order: PmWorkOrder, now: datetime) -> None:
    """The schedule's last PM is this one: its next due date counts from today (a meter from now)."""
    if order.pm_schedule_id is None:
        return
    schedule = session.scalars(select(PmSchedule).where(PmSchedule.id == order.pm_schedule_id)
                               .with_for_update()).first()
    if schedule is not None:
        schedule.last_pm_date, schedule.last_pm_at = now.date(), now
        schedule.version += 1


def _check_assignee(session: Session, user_id: int | None) -> None:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active or not has_permission(user.role, Perm.WORK_PM, user.is_superuser):
        raise field_error("assignee_id", "The assignee must be an active user who carries out maintenance")


def _result(row: WorkflowTransition, order: PmWorkOrder) -> TransitionResult:
    return TransitionResult(entity_id=order.id, previous_state=row.from_state or "", current_state=row.to_state,
                            assignee_id=row.assignee_id, performed_by_id=row.performed_by_id,
                            performed_at=row.performed_at, version=order.version)


def escalate(session: Session, escalation: PmEscalation) -> PmState:
    """Past its scheduled date and not done: the escalation level rises, the history says so (by the system) and
    the supervisors hear of it; a PM work order finished meanwhile is left alone."""
    order = locked(session, escalation.pm_work_order_id)
    definition = definitions.load(session, PM_WORK_ORDER)
    if definition.is_final(order.status) or order.escalation_level >= escalation.level:
        return state_of(session, order)
    order.escalation_level = escalation.level
    order.version += 1
    session.add(WorkflowTransition(entity_type=PM_WORK_ORDER, entity_id=order.id, transition_code=PM_ESCALATE,
                                   from_state=order.status, to_state=order.status, performed_by_id=None,
                                   assignee_id=order.assigned_technician_id, performed_at=utcnow(),
                                   comment=f"Past its scheduled date {order.scheduled_date}: level {escalation.level}",
                                   op_key=escalation.op_key))
    supervisors = list(session.scalars(select(User).where(User.is_active.is_(True),
                                                          func.lower(User.role) == SUPERVISOR)))
    machine = session.get_one(Machine, order.machine_id)
    notifications.enqueue(session, key=f"pm-work-order-overdue:{order.id}:{escalation.level}",
                          kind="pm_work_order_overdue", recipients=supervisors, reference_type=PM_WORK_ORDER,
                          reference_id=order.id, work_order_number=order.work_order_number, machine=machine.name,
                          scheduled_date=order.scheduled_date, status=order.status, level=escalation.level)
    session.flush()
    return state_of(session, order)


# --- the checklist and reads -------------------------------------------------------------------------------

def tick(session: Session, actor_id: int, pm_work_order_id: int, item_id: int, completed: bool) -> None:
    """A checklist item done (or undone) while the PM work order is open."""
    order = locked(session, pm_work_order_id)
    if definitions.load(session, PM_WORK_ORDER).is_final(order.status):
        raise AppError("INVALID_STATUS", 400, "Cannot change the checklist",
                       f"PM work order {order.work_order_number} is {order.status}")
    item = session.get(PmChecklistItem, item_id)
    if item is None or item.pm_work_order_id != order.id:
        raise not_found("Checklist item", item_id)
    item.completed = completed
    item.completed_at, item.completed_by_id = (utcnow(), actor_id) if completed else (None, None)
    order.version += 1
    audit.record(session, actor_id=actor_id, entity_type=PM_WORK_ORDER, entity_id=order.id,
                 action_type="PM_CHECKLIST_ITEM", payload_diff={"item": item.task, "completed": completed})


def render(session: Session, order: PmWorkOrder, with_history: bool = False) -> dict[str, Any]:
    """The contract's answer (and, for the detail, the transition history)."""
    machine = session.get_one(Machine, order.machine_id)
    items = session.scalars(select(PmChecklistItem).where(PmChecklistItem.pm_work_order_id == order.id)
                            .order_by(PmChecklistItem.sequence)).all()
    body: dict[str, Any] = {
        "id": order.id, "work_order_number": order.work_order_number, "work_order_type": "preventive_maintenance",
        "machine_id": order.machine_id, "machine_name": machine.name, "pm_schedule_id": order.pm_schedule_id,
        "pm_type": order.pm_type, "status": order.status, "scheduled_date": order.scheduled_date,
        "priority": order.priority, "notes": order.notes, "escalation_level": order.escalation_level,
        "checklist": [{"id": i.id, "task": i.task, "completed": i.completed} for i in items],
        "assigned_technician": people(session, [order.assigned_technician_id]).get(
            order.assigned_technician_id or 0),
        "started_at": order.started_at, "completed_at": order.completed_at, "created_at": order.created_at}
    if with_history:
        rows = session.scalars(select(WorkflowTransition).where(
            WorkflowTransition.entity_type == PM_WORK_ORDER, WorkflowTransition.entity_id == order.id)
            .order_by(WorkflowTransition.id)).all()
        names = people(session, [r.performed_by_id for r in rows])
        body["history"] = [{"transition_code": r.transition_code, "from_state": r.from_state,
                            "to_state": r.to_state, "performed_by": names.get(r.performed_by_id or 0),
                            "comment": r.comment, "performed_at": r.performed_at} for r in rows]
    return body


def get(session: Session, pm_work_order_id: int) -> PmWorkOrder:
    order = session.get(PmWorkOrder, pm_work_order_id)
    if order is None:
        raise not_found("PM work order", pm_work_order_id)
    return order


def list_orders(session: Session, offset: int, limit: int, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    query = select(PmWorkOrder)
    for name in ("status", "machine_id", "pm_schedule_id", "assigned_technician_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(PmWorkOrder, name) == filters[name])
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    orders = session.scalars(query.order_by(PmWorkOrder.id.desc()).offset(offset).limit(limit)).all()
    return [render(session, order) for order in orders], total
