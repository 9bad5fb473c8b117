"""ERP shipments (`/api/v1/shipments`, an addition the contract's forward trace and recalls need): finished goods
sent to a customer, `SHIP-YYYY-NNN`, as serials and/or a quantity of one work order's output.

Rules: a serial ships once (its row is locked; `shipment_items.product_serial_id` is unique) and never once it went
into another unit; a quantity is at most the work order's completed units less the units of it already shipped
(serials included). Every work order a shipment touches is locked first, in id order, then its serials, then the
number is taken last: shipments of one work order are serialised and the cap holds under concurrency. Never
commits."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.numbering import yearly_number
from models.mes import WorkOrder
from models.mes.traceability import Customer, MaterialConsumption, ProductSerial, Shipment, ShipmentItem
from services import audit
from services.catalog import master_data as catalog
from services.common.guards import field_error


@dataclass
class ShipmentView:
    id: int
    shipment_number: str
    customer_id: int
    customer_name: str
    ship_date: date
    created_at: datetime
    serial_numbers: list[str] = field(default_factory=list)
    work_order_id: int | None = None
    work_order_number: str | None = None
    quantity: int | None = None

    @property
    def total_units(self) -> int:
        return len(self.serial_numbers) + (self.quantity or 0)


def create_shipment(session: Session, actor_id: int, values: dict[str, Any]) -> ShipmentView:
    """Ship to a customer; every refusal names its field or gives the figures, and changes nothing."""
    if session.get(Customer, values["customer_id"]) is None:
        raise field_error("customer_id", f"Customer {values['customer_id']} not found")
    numbers: list[str] = values.get("serial_numbers") or []
    work_order_id, quantity = values.get("work_order_id"), values.get("quantity")
    _check_shape(numbers, work_order_id, quantity)
    serials = _serials(session, numbers)
    orders = _locked_orders(session, {s.work_order_id for s in serials} | ({work_order_id} if work_order_id else set()))
    if work_order_id is not None and quantity is not None:
        if work_order_id not in orders:
            raise field_error("work_order_id", f"Work order {work_order_id} not found")
        _check_available(session, orders[work_order_id], quantity, sum(s.work_order_id == work_order_id
                                                                       for s in serials))
    locked = _locked_serials(session, serials, numbers)
    shipment = Shipment(shipment_number=yearly_number(session, "SHIP"), customer_id=values["customer_id"],
                        ship_date=values["ship_date"], created_by_id=actor_id)
    session.add(shipment)
    session.flush()
    items: list[dict[str, int | None]] = [
        {"shipment_id": shipment.id, "product_serial_id": s.id, "work_order_id": s.work_order_id, "quantity": 1}
        for s in locked]
    if work_order_id is not None and quantity is not None:
        items.append({"shipment_id": shipment.id, "product_serial_id": None, "work_order_id": work_order_id,
                      "quantity": quantity})
    session.execute(insert(ShipmentItem), items)
    audit.record(session, actor_id=actor_id, entity_type="shipment", entity_id=shipment.id,
                 action_type="SHIPMENT_CREATED", payload_diff=audit.created({
                     "shipment_number": shipment.shipment_number, **{k: v for k, v in values.items() if v}}))
    return get_shipment(session, shipment.id)


def _check_shape(numbers: list[str], work_order_id: int | None, quantity: int | None) -> None:
    """Serials and/or a work order with a quantity; no serial twice."""
    if work_order_id is not None and quantity is None:
        raise field_error("quantity", "quantity is required with work_order_id")
    if quantity is not None and work_order_id is None:
        raise field_error("work_order_id", "work_order_id is required with quantity")
    if not numbers and work_order_id is None:
        raise field_error("serial_numbers", "Ship serial_numbers and/or a work_order_id with a quantity")
    seen: set[str] = set()
    for index, number in enumerate(numbers):
        if number in seen:
            raise field_error(f"serial_numbers.{index}", f"Serial number {number} appears twice")
        seen.add(number)


def _serials(session: Session, numbers: list[str]) -> list[ProductSerial]:
    """The serials named, in the body's order; an unknown one is refused naming its place in the list."""
    if not numbers:
        return []
    found = {s.serial_number: s for s in session.scalars(select(ProductSerial)
                                                         .where(ProductSerial.serial_number.in_(numbers)))}
    for index, number in enumerate(numbers):
        if number not in found:
            raise field_error(f"serial_numbers.{index}", f"Serial number {number} not found")
    return [found[n] for n in numbers]


def _locked_orders(session: Session, ids: set[int]) -> dict[int, WorkOrder]:
    if not ids:
        return {}
    rows = session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)).order_by(WorkOrder.id).with_for_update())
    return {order.id: order for order in rows}


def _check_available(session: Session, order: WorkOrder, quantity: int, serials_here: int) -> None:
    shipped = shipped_units(session, order.id)
    available = order.quantity_completed - shipped - serials_here
    if quantity > available:
        raise AppError("OVER_SHIPMENT", 400, "Quantity exceeds what is left to ship",
                       f"Work order {order.work_order_number} completed {order.quantity_completed} units, "
                       f"{shipped + serials_here} shipped or in this shipment; {quantity} more would pass it "
                       f"({max(available, 0)} left)")


def shipped_units(session: Session, work_order_id: int) -> int:
    """Units of the work order shipped so far: its serials and quantities on every shipment."""
    return int(session.scalar(select(func.coalesce(func.sum(ShipmentItem.quantity), 0))
                              .where(ShipmentItem.work_order_id == work_order_id)) or 0)


def _locked_serials(session: Session, serials: list[ProductSerial], numbers: list[str]) -> list[ProductSerial]:
    """The serials locked in id order, refused when one shipped already or went into another unit."""
    if not serials:
        return []
    ids = [s.id for s in serials]
    list(session.scalars(select(ProductSerial.id).where(ProductSerial.id.in_(ids)).order_by(ProductSerial.id)
                         .with_for_update()))
    shipped = session.execute(select(ShipmentItem.product_serial_id, Shipment.shipment_number)
                              .join(Shipment, Shipment.id == ShipmentItem.shipment_id)
                              .where(ShipmentItem.product_serial_id.in_(ids))).first()
    if shipped is not None:
        number = next(s.serial_number for s in serials if s.id == shipped[0])
        raise AppError("ALREADY_SHIPPED", 400, "Serial number already shipped",
                       f"{number} was shipped in {shipped[1]}")
    inside = session.execute(select(MaterialConsumption.component_serial_id, WorkOrder.work_order_number)
                             .join(WorkOrder, WorkOrder.id == MaterialConsumption.work_order_id)
                             .where(MaterialConsumption.component_serial_id.in_(ids))).first()
    if inside is not None:
        index = numbers.index(next(s.serial_number for s in serials if s.id == inside[0]))
        raise field_error(f"serial_numbers.{index}", f"{numbers[index]} went into work order {inside[1]}; it ships "
                          "inside that unit")
    return serials


def get_shipment(session: Session, shipment_id: int) -> ShipmentView:
    views = _views(session, [shipment_id])
    if not views:
        raise AppError("NOT_FOUND", 404, "Not found", f"Shipment {shipment_id} not found")
    return views[0]


def list_shipments(session: Session, offset: int, limit: int, customer_id: int | None,
                   search: str | None) -> tuple[list[ShipmentView], int]:
    """A page of shipments, newest first; by customer, or a shipment number containing `search`."""
    conditions: list[ColumnElement[bool]] = []
    if customer_id is not None:
        conditions.append(Shipment.customer_id == customer_id)
    if search:
        conditions.append(or_(catalog.contains(search, Shipment.shipment_number)))
    ids = list(session.scalars(select(Shipment.id).where(*conditions).order_by(Shipment.id.desc())
                               .offset(offset).limit(limit)))
    return _views(session, ids), catalog.count(session, select(Shipment.id).where(*conditions))


def _views(session: Session, ids: list[int]) -> list[ShipmentView]:
    """Shipments with their items, two queries for a whole page."""
    if not ids:
        return []
    views = {row[0]: ShipmentView(*row) for row in session.execute(
        select(Shipment.id, Shipment.shipment_number, Shipment.customer_id, Customer.name, Shipment.ship_date,
               Shipment.created_at).join(Customer, Customer.id == Shipment.customer_id).where(Shipment.id.in_(ids)))}
    items = session.execute(
        select(ShipmentItem.shipment_id, ProductSerial.serial_number, ShipmentItem.work_order_id,
               WorkOrder.work_order_number, ShipmentItem.quantity)
        .outerjoin(ProductSerial, ProductSerial.id == ShipmentItem.product_serial_id)
        .outerjoin(WorkOrder, WorkOrder.id == ShipmentItem.work_order_id)
        .where(ShipmentItem.shipment_id.in_(ids)).order_by(ShipmentItem.id))
    for shipment_id, serial, work_order_id, work_order_number, quantity in items.tuples():
        view = views[shipment_id]
        if serial is not None:
            view.serial_numbers.append(serial)
        else:
            view.work_order_id, view.work_order_number = work_order_id, work_order_number
            view.quantity = (view.quantity or 0) + quantity
    return [views[i] for i in ids if i in views]
