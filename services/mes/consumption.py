"""What a work order consumed (`POST /api/v1/work-orders/{id}/material-consumption`, an addition): a quantity of a
material lot, or one sub-assembly by its serial, made by another work order. These rows are the genealogy the
forward and backward traces follow (services/mes/traceability.py).

Rules: the work order is in progress or completed; a lot is never consumed beyond its received quantity (the lot's
row is locked, so concurrent consumptions cannot pass it together); a sub-assembly goes into one work order only
(its serial's row is locked, and `material_consumptions.component_serial_id` is unique), never once shipped, never
into the work order that made it nor into one whose output it already holds (the genealogy stays without cycles). Never
commits."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from dto.mes import WorkOrderStatus
from models.catalog import Material, Part
from models.mes import WorkOrder
from models.mes.traceability import Lot, MaterialConsumption, ProductSerial, Shipment, ShipmentItem
from services import audit
from services.common.guards import field_error

CONSUMING = (WorkOrderStatus.IN_PROGRESS.value, WorkOrderStatus.COMPLETED.value)
# Is work order `:target` among `:maker` and the work orders whose units went into it, at any depth? Then a unit
# of `:maker` consumed by `:target` would close a cycle in the genealogy.
INSIDE = text("""
    WITH RECURSIVE parts(work_order_id) AS (
        SELECT CAST(:maker AS integer)
        UNION
        SELECT ps.work_order_id FROM parts p
        JOIN material_consumptions mc ON mc.work_order_id = p.work_order_id AND mc.component_serial_id IS NOT NULL
        JOIN product_serials ps ON ps.id = mc.component_serial_id
    )
    SELECT EXISTS (SELECT 1 FROM parts WHERE work_order_id = :target)
""")


@dataclass(frozen=True)
class Consumption:
    """A consumption as its answer shows it."""

    id: int
    work_order_id: int
    work_order_number: str
    lot_number: str | None
    material_id: int | None
    material_name: str | None
    quantity: Decimal
    serial_number: str | None
    component_product_name: str | None
    component_work_order_number: str | None
    recorded_by_id: int | None
    consumed_at: datetime


def record(session: Session, actor_id: int, work_order_id: int, values: dict[str, Any]) -> Consumption:
    """Record one consumption by the work order (404 unknown, 400 not in progress or completed)."""
    order = session.scalars(select(WorkOrder).where(WorkOrder.id == work_order_id).with_for_update()).first()
    if order is None:
        raise not_found("Work order", work_order_id)
    if order.status not in CONSUMING:
        raise AppError("INVALID_STATUS", 400, "Cannot record consumption",
                       f"Work order {order.work_order_number} is {order.status}; material is consumed only while it "
                       "is in_progress or completed")
    if values.get("serial_number") is not None:
        row = _component(session, order, values["serial_number"])
    else:
        row = _from_lot(session, order, values["lot_number"], values["quantity"])
    row.recorded_by_id = actor_id
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="work_order", entity_id=order.id,
                 action_type="MATERIAL_CONSUMED",
                 payload_diff={key: {"old": None, "new": value} for key, value in values.items() if value is not None})
    return get(session, row.id)


def _from_lot(session: Session, order: WorkOrder, lot_number: str, quantity: Decimal) -> MaterialConsumption:
    lot = session.scalars(select(Lot).where(Lot.lot_number == lot_number).with_for_update()).first()
    if lot is None:
        raise field_error("lot_number", f"Lot {lot_number} not found")
    used = Decimal(session.scalar(select(func.coalesce(func.sum(MaterialConsumption.quantity), 0))
                                  .where(MaterialConsumption.lot_id == lot.id)) or 0)
    if used + quantity > lot.quantity:
        raise AppError("LOT_EXHAUSTED", 400, "Not enough left in the lot",
                       f"Lot {lot_number} received {_plain(lot.quantity)}, {_plain(used)} consumed so far; "
                       f"{_plain(quantity)} more would make {_plain(used + quantity)}")
    return MaterialConsumption(work_order_id=order.id, lot_id=lot.id, quantity=quantity)


def _component(session: Session, order: WorkOrder, serial_number: str) -> MaterialConsumption:
    serial = session.scalars(select(ProductSerial).where(ProductSerial.serial_number == serial_number)
                             .with_for_update()).first()
    if serial is None:
        raise field_error("serial_number", f"Serial number {serial_number} not found")
    if serial.work_order_id == order.id:
        raise field_error("serial_number", f"{serial_number} was made by work order {order.work_order_number} "
                          "itself; a sub-assembly comes from another work order")
    into = session.scalar(select(WorkOrder.work_order_number).join(
        MaterialConsumption, MaterialConsumption.work_order_id == WorkOrder.id)
        .where(MaterialConsumption.component_serial_id == serial.id))
    if into is not None:
        raise AppError("ALREADY_CONSUMED", 400, "Sub-assembly already consumed",
                       f"{serial_number} went into work order {into} already")
    shipped = session.scalar(select(Shipment.shipment_number)
                             .join(ShipmentItem, ShipmentItem.shipment_id == Shipment.id)
                             .where(ShipmentItem.product_serial_id == serial.id))
    if shipped is not None:
        raise AppError("ALREADY_SHIPPED", 400, "Sub-assembly already shipped",
                       f"{serial_number} was shipped in {shipped}")
    if session.scalar(INSIDE, {"maker": serial.work_order_id, "target": order.id}):
        raise field_error("serial_number", f"{serial_number} is made from work order {order.work_order_number}'s "
                          "own output; consuming it here would make the genealogy a cycle")
    return MaterialConsumption(work_order_id=order.id, component_serial_id=serial.id, quantity=Decimal(1))


def get(session: Session, consumption_id: int) -> Consumption:
    component = select(ProductSerial.id, ProductSerial.serial_number, Part.name.label("product_name"),
                       WorkOrder.work_order_number).join(Part, Part.id == ProductSerial.part_id).join(
        WorkOrder, WorkOrder.id == ProductSerial.work_order_id).subquery()
    consumer = select(WorkOrder.id, WorkOrder.work_order_number).subquery()
    row = session.execute(
        select(MaterialConsumption.id, MaterialConsumption.work_order_id, consumer.c.work_order_number,
               Lot.lot_number, Lot.material_id, Material.name, MaterialConsumption.quantity,
               component.c.serial_number, component.c.product_name, component.c.work_order_number,
               MaterialConsumption.recorded_by_id, MaterialConsumption.consumed_at)
        .join(consumer, consumer.c.id == MaterialConsumption.work_order_id)
        .outerjoin(Lot, Lot.id == MaterialConsumption.lot_id).outerjoin(Material, Material.id == Lot.material_id)
        .outerjoin(component, component.c.id == MaterialConsumption.component_serial_id)
        .where(MaterialConsumption.id == consumption_id)).one()
    return Consumption(*row)


def _plain(value: Decimal) -> str:
    """A quantity as people write it: `12.5`, `500`."""
    return format(value.normalize(), "f")
