"""Reads of ERP work orders: the list (filters `status`, `product_id`, `search`), one work order with its progress,
costs, dependencies, routing, logs summary and history, and its production logs. Plain rows, few statements."""

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from core.errors import not_found
from models.approvals import WorkflowTransition
from models.catalog import Part
from models.identity import User
from models.mes import ProductionLog, RoutingOperation, WorkOrder, WorkOrderDependency
from services.catalog import master_data as catalog
from services.identity import people
from services.mes.work_orders import ENTITY

SUMMARY = (WorkOrder.id, WorkOrder.work_order_number, WorkOrder.part_id, Part.part_number, Part.name,
           WorkOrder.status, WorkOrder.priority, WorkOrder.quantity_ordered, WorkOrder.quantity_completed,
           WorkOrder.due_date, WorkOrder.plant_id, WorkOrder.machine_id, WorkOrder.created_at)


def progress_percent(completed: int, ordered: int) -> int:
    """Whole percent, rounded down (99.9 % done is not 100 %)."""
    return completed * 100 // ordered if ordered else 0


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "work_order_number": row.work_order_number, "product_id": row.part_id,
            "product_code": row.part_number, "product_name": row.name, "status": row.status,
            "priority": row.priority, "quantity_ordered": row.quantity_ordered,
            "quantity_completed": row.quantity_completed,
            "progress_percent": progress_percent(row.quantity_completed, row.quantity_ordered),
            "due_date": row.due_date, "plant_id": row.plant_id, "machine_id": row.machine_id,
            "created_at": row.created_at}


def list_work_orders(session: Session, offset: int, limit: int, *, status: str | None, product_id: int | None,
                     search: str | None) -> tuple[list[dict[str, Any]], int]:
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(WorkOrder.status == status)
    if product_id:
        conditions.append(WorkOrder.part_id == product_id)
    if search:
        conditions.append(catalog.contains(search, WorkOrder.work_order_number, Part.part_number, Part.name))
    query = select(*SUMMARY).join(Part, Part.id == WorkOrder.part_id).where(*conditions)
    rows = session.execute(query.order_by(WorkOrder.id.desc()).offset(offset).limit(limit)).all()
    total = catalog.count(session, select(WorkOrder.id).join(Part, Part.id == WorkOrder.part_id).where(*conditions))
    return [_summary(row) for row in rows], total


def get_work_order(session: Session, work_order_id: int) -> dict[str, Any]:
    row = session.execute(select(*SUMMARY).join(Part, Part.id == WorkOrder.part_id)
                          .where(WorkOrder.id == work_order_id)).first()
    if row is None:
        raise not_found("Work order", work_order_id)
    order = session.get(WorkOrder, work_order_id)
    assert order is not None
    history = _history(session, order.id)
    names = people(session, [order.started_by_id, order.created_by_id, *(h["performed_by_id"] for h in history)])
    return {**_summary(row), "version": order.version, "notes": order.notes,
            "costs": _costs(order), "dependencies": _dependencies(session, order.id),
            "dependents": _dependents(session, order.id), "operations": _operations(session, order.part_id),
            "logs_summary": _logs_summary(session, order.id),
            "hold": {"reason": order.hold_reason, "ncr_id": order.hold_ncr_id, "held_from": order.held_from}
            if order.status == "on_hold" else None,
            "started_at": order.started_at, "started_by": names.get(order.started_by_id or 0),
            "created_by": names.get(order.created_by_id or 0), "released_at": order.released_at,
            "completed_at": order.completed_at, "closed_at": order.closed_at, "cancelled_at": order.cancelled_at,
            "updated_at": order.updated_at,
            "history": [{**h, "performed_by": names.get(h.pop("performed_by_id") or 0)} for h in history]}


def _costs(order: WorkOrder) -> dict[str, Decimal]:
    return {"material_cost": order.material_cost, "labor_cost": order.labor_cost,
            "total_cost": order.material_cost + order.labor_cost}


def _dependencies(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(WorkOrder.id, WorkOrder.work_order_number, WorkOrder.status)
                           .join(WorkOrderDependency, WorkOrderDependency.depends_on_id == WorkOrder.id)
                           .where(WorkOrderDependency.work_order_id == order_id).order_by(WorkOrder.id))
    return [{"id": r.id, "work_order_number": r.work_order_number, "status": r.status} for r in rows]


def _dependents(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(WorkOrder.id, WorkOrder.work_order_number, WorkOrder.status)
                           .join(WorkOrderDependency, WorkOrderDependency.work_order_id == WorkOrder.id)
                           .where(WorkOrderDependency.depends_on_id == order_id).order_by(WorkOrder.id))
    return [{"id": r.id, "work_order_number": r.work_order_number, "status": r.status} for r in rows]


def _operations(session: Session, product_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(RoutingOperation.id, RoutingOperation.sequence, RoutingOperation.name,
                                  RoutingOperation.machine_id, RoutingOperation.standard_minutes_per_unit)
                           .where(RoutingOperation.part_id == product_id).order_by(RoutingOperation.sequence))
    return [dict(r._mapping) for r in rows]


def _logs_summary(session: Session, order_id: int) -> dict[str, Any]:
    row = session.execute(select(func.count(ProductionLog.id), func.coalesce(func.sum(ProductionLog.hours_worked), 0),
                                 func.max(ProductionLog.logged_at))
                          .where(ProductionLog.work_order_id == order_id)).one()
    return {"count": row[0], "hours_worked": Decimal(row[1]), "last_logged_at": row[2]}


def _history(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(WorkflowTransition.transition_code, WorkflowTransition.from_state,
                                  WorkflowTransition.to_state, WorkflowTransition.performed_by_id,
                                  WorkflowTransition.comment, WorkflowTransition.performed_at)
                           .where(WorkflowTransition.entity_type == ENTITY, WorkflowTransition.entity_id == order_id)
                           .order_by(WorkflowTransition.id))
    return [dict(r._mapping) for r in rows]


def production_logs(session: Session, work_order_id: int, offset: int,
                    limit: int) -> tuple[list[dict[str, Any]], int]:
    if session.get(WorkOrder, work_order_id) is None:
        raise not_found("Work order", work_order_id)
    operator = aliased(User)
    query = (select(ProductionLog, operator.full_name, operator.username, RoutingOperation.name,
                    RoutingOperation.sequence)
             .join(operator, operator.id == ProductionLog.operator_id)
             .outerjoin(RoutingOperation, RoutingOperation.id == ProductionLog.operation_id)
             .where(ProductionLog.work_order_id == work_order_id))
    rows = session.execute(query.order_by(ProductionLog.id).offset(offset).limit(limit)).all()
    total = catalog.count(session, select(ProductionLog.id).where(ProductionLog.work_order_id == work_order_id))
    return [_log(log, full_name or username, op_name, op_sequence)
            for log, full_name, username, op_name, op_sequence in rows], total


def _log(log: ProductionLog, operator_name: str, op_name: str | None, op_sequence: int | None) -> dict[str, Any]:
    return {"id": log.id, "work_order_id": log.work_order_id,
            "operation": {"id": log.operation_id, "name": op_name, "sequence": op_sequence}
            if log.operation_id else None,
            "operator": {"id": log.operator_id, "name": operator_name},
            "quantity_completed": log.quantity_completed, "cumulative_completed": log.cumulative_completed,
            "hours_worked": log.hours_worked, "material_cost_added": log.material_cost_added,
            "labor_cost_added": log.labor_cost_added, "notes": log.notes, "logged_at": log.logged_at}
