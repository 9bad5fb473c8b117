"""ERP production logs (manufacturing-erp.md §6.2 `POST /api/v1/production-logs`): units an operator completed on
an `in_progress` work order, with the material and labour cost they add. A direct guarded write: the work order's
row is locked for the whole transaction, so operators logging at once are serialised and never lose a unit nor
pass the ordered quantity. The API tells the work order's lifecycle afterwards (reaching the ordered quantity
completes it). Never commits."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.settings import get_settings
from dto.mes import Progress, WorkOrderStatus
from models.catalog import Material, PartMaterial
from models.mes import ProductionLog, RoutingOperation, WorkOrder
from services.common.guards import field_error

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LoggedProduction:
    log: ProductionLog
    work_order_number: str
    quantity_ordered: int

    @property
    def progress(self) -> Progress:
        return Progress(quantity_completed=self.log.cumulative_completed, quantity_ordered=self.quantity_ordered)


def record(session: Session, operator_id: int, body: dict[str, Any]) -> LoggedProduction:
    """The log and the work order's new totals, in one transaction under the work order's row lock."""
    order = session.scalars(select(WorkOrder).where(WorkOrder.id == body["work_order_id"]).with_for_update()).first()
    if order is None:
        raise field_error("work_order_id", f"Work order {body['work_order_id']} not found")
    if order.status != WorkOrderStatus.IN_PROGRESS.value:
        raise AppError("INVALID_STATUS", 400, "Cannot log production",
                       f"Work order {order.work_order_number} is {order.status}; production is logged only while "
                       "it is in_progress")
    quantity = body["quantity_completed"]
    cumulative = order.quantity_completed + quantity
    if cumulative > order.quantity_ordered:
        raise AppError("OVER_PRODUCTION", 400, "Quantity exceeds the work order",
                       f"{quantity} more would make {cumulative} completed, past the {order.quantity_ordered} "
                       f"ordered ({order.quantity_completed} completed so far)")
    hours = Decimal(str(body.get("hours_worked") or 0))
    material_cost = _cents(quantity * material_cost_per_unit(session, order.part_id))
    labor_cost = _cents(hours * _labor_rate(session, order, body.get("operation_id")))
    log = ProductionLog(work_order_id=order.id, operation_id=body.get("operation_id"), operator_id=operator_id,
                        quantity_completed=quantity, cumulative_completed=cumulative, hours_worked=hours,
                        notes=body.get("notes"), material_cost_added=material_cost, labor_cost_added=labor_cost)
    session.add(log)
    order.quantity_completed = cumulative
    order.material_cost += material_cost
    order.labor_cost += labor_cost
    order.version += 1
    session.flush()
    return LoggedProduction(log, order.work_order_number, order.quantity_ordered)


def material_cost_per_unit(session: Session, product_id: int) -> Decimal:
    """Σ(BOM quantity × the material's standard cost) of one unit of the product."""
    total = session.scalar(select(func.coalesce(func.sum(PartMaterial.quantity_required
                                                         * func.coalesce(Material.unit_cost, 0)), 0))
                           .join(Material, Material.id == PartMaterial.material_id)
                           .where(PartMaterial.part_id == product_id))
    return Decimal(total or 0)


def _labor_rate(session: Session, order: WorkOrder, operation_id: int | None) -> Decimal:
    """The operation's rate (it must be a step of the work order's product's routing), else the default."""
    default = get_settings().default_labor_rate_per_hour
    if operation_id is None:
        return default
    row = session.execute(select(RoutingOperation.part_id, RoutingOperation.labor_rate_per_hour)
                          .where(RoutingOperation.id == operation_id)).first()
    if row is None or row.part_id != order.part_id:
        raise field_error("operation_id", f"Operation {operation_id} is not a step of this work order's routing")
    return row.labor_rate_per_hour if row.labor_rate_per_hour is not None else default


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
