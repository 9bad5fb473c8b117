"""ERP work orders (manufacturing-erp.md §6.2): the effects their lifecycle (`work-order-{id}`) applies, each in
its caller's transaction and harmless to repeat. A work order makes `quantity_ordered` units of a product; it may
start only once every work order it depends on is completed; its transitions are `dto.mes.MOVES`. Never commits."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from core.errors import AppError
from core.numbering import yearly_number
from core.timeutil import utcnow
from dto.mes import MOVES, CreateWorkOrder, DependencyChange, WorkOrderMove, WorkOrderStatus, WorkOrderView
from models.approvals import WorkflowTransition
from models.catalog import Part
from models.mes import WorkOrder, WorkOrderDependency
from services import audit
from services.common.guards import field_error, locked
from services.mes.machines import require_machine

ENTITY = "work_order"
DEPENDENCY_LOCK = 0x574F4445  # pg_advisory_xact_lock key of dependency edits ("WODE")
DONE = (WorkOrderStatus.COMPLETED.value, WorkOrderStatus.CLOSED.value)
BEFORE_START = (WorkOrderStatus.PLANNED.value, WorkOrderStatus.RELEASED.value, WorkOrderStatus.ON_HOLD.value)
STAMPS = {WorkOrderStatus.RELEASED: "released_at", WorkOrderStatus.IN_PROGRESS: "started_at",
          WorkOrderStatus.COMPLETED: "completed_at", WorkOrderStatus.CLOSED: "closed_at",
          WorkOrderStatus.CANCELLED: "cancelled_at"}
# Is `:new` reachable from any of `:targets` along "depends on" edges? Then `:new` depending on them is a cycle.
REACHES = text("""
    WITH RECURSIVE upstream(id) AS (
        SELECT unnest(CAST(:targets AS integer[]))
        UNION
        SELECT d.depends_on_id FROM work_order_dependencies d JOIN upstream u ON d.work_order_id = u.id
    )
    SELECT EXISTS (SELECT 1 FROM upstream WHERE id = :new)
""")


def check_create(session: Session, work_order_id: int, body: dict[str, Any]) -> None:
    """Refuse, naming the field, a product that is not one, an unknown machine or dependencies `check_dependencies`
    refuses."""
    part = session.get(Part, body["product_id"])
    if part is None or not part.is_product:
        raise field_error("product_id", f"Product {body['product_id']} not found")
    if body.get("machine_id") is not None:
        require_machine(session, body["machine_id"], "machine_id")
    check_dependencies(session, work_order_id, body.get("depends_on") or [])


def check_dependencies(session: Session, work_order_id: int, depends_on: list[int]) -> None:
    """Refuse, naming the field, an unknown, cancelled or repeated dependency, or one that would close a cycle
    (a work order that already waits, directly or not, for this one). Dependency edits are serialised, so two
    edits at once cannot each close half of a cycle."""
    if not depends_on:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEPENDENCY_LOCK})
    found = {row.id: row.status for row in
             session.execute(select(WorkOrder.id, WorkOrder.status).where(WorkOrder.id.in_(depends_on)))}
    for index, other in enumerate(depends_on):
        field = f"depends_on.{index}"
        if other not in found and other != work_order_id:
            raise field_error(field, f"Work order {other} not found")
        if found.get(other) == WorkOrderStatus.CANCELLED.value:
            raise field_error(field, f"Work order {other} is cancelled")
        if depends_on.index(other) != index:
            raise field_error(field, f"Work order {other} appears twice")
    if session.scalar(REACHES, {"targets": depends_on, "new": work_order_id}):
        raise field_error("depends_on", "These dependencies would make a cycle: a work order listed already "
                                        "waits for this one")


def create(session: Session, request: CreateWorkOrder) -> WorkOrderView:
    """The work order `planned`, with its dependencies; the same create again answers the one it made."""
    existing = session.get(WorkOrder, request.work_order_id)
    if existing is not None:
        return view_of(session, existing)
    body = request.body
    check_create(session, request.work_order_id, body)
    order = WorkOrder(id=request.work_order_id, work_order_number=yearly_number(session, "WO"),
                      part_id=body["product_id"], quantity_ordered=body["quantity_ordered"],
                      due_date=body.get("due_date"), priority=body.get("priority") or "normal",
                      plant_id=body.get("plant_id"), machine_id=body.get("machine_id"), notes=body.get("notes"),
                      status=WorkOrderStatus.PLANNED.value, created_by_id=request.actor.id)
    session.add(order)
    session.flush()
    session.add_all([WorkOrderDependency(work_order_id=order.id, depends_on_id=other)
                     for other in body.get("depends_on") or []])
    _history(session, order, "create", None, request.actor.id, None, f"work-order-{order.id}:create")
    audit.record(session, actor_id=request.actor.id, entity_type=ENTITY, entity_id=order.id,
                 action_type="WORK_ORDER_CREATED", payload_diff={"status": {"old": None, "new": order.status}})
    session.flush()
    return view_of(session, order)


def move(session: Session, change: WorkOrderMove) -> WorkOrderView:
    """Apply a transition the lifecycle validated; the same `op_key` again answers without applying it twice."""
    order = locked(session, WorkOrder, change.work_order_id, "Work order")
    if change.op_key and _applied(session, change.op_key):
        return view_of(session, order)
    if change.code == "resume" and change.ncr_id is not None and order.hold_ncr_id != change.ncr_id:
        return view_of(session, order)  # held again since, or by someone: the NCR's approval no longer applies
    previous = WorkOrderStatus(order.status)
    target = _target(order, change)
    if change.code == "start":
        _require_dependencies_done(session, order)
        order.started_by_id = change.actor.id if change.actor else None
    _hold_or_resume(order, change, previous)
    order.status = target.value
    if target in STAMPS:
        setattr(order, STAMPS[target], utcnow())
    order.version += 1
    actor_id = change.actor.id if change.actor else None
    performed = _history(session, order, change.code, previous.value, actor_id, change.comment, change.op_key)
    audit.record(session, actor_id=actor_id, entity_type=ENTITY, entity_id=order.id,
                 action_type=f"WORK_ORDER_{change.code.upper()}",
                 payload_diff={"status": {"old": previous.value, "new": target.value}, "comment": change.comment})
    session.flush()
    dependents = _dependents(session, order.id) if target == WorkOrderStatus.COMPLETED else []
    return view_of(session, order, previous=previous, performed_by_id=actor_id, performed_at=performed,
                   dependents=dependents)


def set_dependencies(session: Session, change: DependencyChange) -> WorkOrderView:
    """Replace what a planned or released work order waits for; a cycle is refused."""
    order = locked(session, WorkOrder, change.work_order_id, "Work order")
    if change.op_key and _applied(session, change.op_key):
        return view_of(session, order)
    if order.status not in (WorkOrderStatus.PLANNED.value, WorkOrderStatus.RELEASED.value):
        raise AppError("INVALID_STATUS", 400, "Cannot change dependencies",
                       f"Work order {order.work_order_number} is {order.status}; dependencies change only while "
                       "it is planned or released")
    check_dependencies(session, order.id, change.depends_on)
    session.execute(delete(WorkOrderDependency).where(WorkOrderDependency.work_order_id == order.id))
    session.add_all([WorkOrderDependency(work_order_id=order.id, depends_on_id=other) for other in change.depends_on])
    order.version += 1
    _history(session, order, "dependencies", order.status, change.actor.id,
             f"depends on {', '.join(str(d) for d in change.depends_on) or 'nothing'}", change.op_key)
    audit.record(session, actor_id=change.actor.id, entity_type=ENTITY, entity_id=order.id,
                 action_type="WORK_ORDER_DEPENDENCIES", payload_diff={"depends_on": {"new": change.depends_on}})
    session.flush()
    return view_of(session, order)


def _applied(session: Session, op_key: str) -> bool:
    return session.scalar(select(WorkflowTransition.id).where(WorkflowTransition.op_key == op_key)) is not None


def _target(order: WorkOrder, change: WorkOrderMove) -> WorkOrderStatus:
    move_of = MOVES.get(change.code)
    if move_of is None:
        raise not_allowed(order, change.code)
    if order.status not in move_of.allowed_from:
        raise not_allowed(order, change.code)
    return move_of.to or WorkOrderStatus(order.held_from or WorkOrderStatus.PLANNED.value)


def not_allowed(order: WorkOrder, code: str) -> AppError:
    allowed = sorted(c for c, m in MOVES.items() if order.status in m.allowed_from)
    return AppError("INVALID_STATUS", 400, "Invalid transition",
                    f"Cannot {code} work order {order.work_order_number} in status {order.status}; "
                    f"allowed: {', '.join(allowed) or 'none'}")


def _require_dependencies_done(session: Session, order: WorkOrder) -> None:
    waiting = session.scalars(
        select(WorkOrder.work_order_number).join(WorkOrderDependency, WorkOrderDependency.depends_on_id == WorkOrder.id)
        .where(WorkOrderDependency.work_order_id == order.id, WorkOrder.status.not_in(DONE))
        .order_by(WorkOrder.id)).all()
    if waiting:
        raise AppError("DEPENDENCIES_NOT_MET", 400, "Cannot start work order",
                       f"Waiting for {', '.join(waiting)} to complete")


def _hold_or_resume(order: WorkOrder, change: WorkOrderMove, previous: WorkOrderStatus) -> None:
    if change.code == "hold":
        order.held_from, order.hold_reason, order.hold_ncr_id = previous.value, change.comment, change.ncr_id
    elif change.code == "resume":
        order.held_from = order.hold_reason = order.hold_ncr_id = None


def _history(session: Session, order: WorkOrder, code: str, previous: str | None, actor_id: int | None,
             comment: str | None, op_key: str | None) -> datetime:
    entry = WorkflowTransition(entity_type=ENTITY, entity_id=order.id, transition_code=code, from_state=previous,
                               to_state=order.status, performed_by_id=actor_id, comment=comment, op_key=op_key or None,
                               performed_at=utcnow())
    session.add(entry)
    return entry.performed_at


def _dependents(session: Session, order_id: int) -> list[int]:
    return list(session.scalars(select(WorkOrderDependency.work_order_id)
                                .where(WorkOrderDependency.depends_on_id == order_id)))


def view_of(session: Session, order: WorkOrder, *, previous: WorkOrderStatus | None = None,
            performed_by_id: int | None = None, performed_at: datetime | None = None,
            dependents: list[int] | None = None) -> WorkOrderView:
    before_start = order.status in BEFORE_START and (order.held_from or order.status) in BEFORE_START
    waiting = [] if not before_start else list(session.scalars(
        select(WorkOrderDependency.depends_on_id).join(WorkOrder, WorkOrder.id == WorkOrderDependency.depends_on_id)
        .where(WorkOrderDependency.work_order_id == order.id, WorkOrder.status.not_in(DONE))))
    return WorkOrderView(work_order_id=order.id, work_order_number=order.work_order_number,
                         status=WorkOrderStatus(order.status), version=order.version,
                         quantity_ordered=order.quantity_ordered, quantity_completed=order.quantity_completed,
                         waiting_on=waiting, dependents=dependents or [], hold_ncr_id=order.hold_ncr_id,
                         previous_status=previous, performed_by_id=performed_by_id, performed_at=performed_at)
