"""Forward and backward trace (manufacturing-erp.md §6.9) through any depth of sub-assemblies.

The genealogy is `material_consumptions`: a work order consumed a quantity of a lot, or a unit (a serial of
`product_serials`) made by another work order. Consumption is recorded per work order, not per unit, so the trace
moves from work order to work order: everything a work order made is affected when anything it consumed is.

- Forward (a lot or a serial → customers): ONE recursive query walks up from the work orders that consumed the lot
  (or the serial) through the serials each affected work order made and the work orders that consumed them,
  answering the affected work orders with their product and completed units; then one query for their serials
  (with the work order each went into) and one for their shipments (with customer and contact). Three statements
  whatever the depth. Indexes: `material_consumptions (lot_id)`, `product_serials (work_order_id)`,
  `material_consumptions (component_serial_id)` (unique), `shipment_items (work_order_id)`.
- Backward (a serial → lots): ONE recursive query walks down from the serial's work order through the serials it
  consumed to the work orders that made them, answering every consumption of every work order met (a lateral
  subquery kept apart by `OFFSET 0`, so each work order's consumptions are read through its index whatever the
  planner guesses of the walk's size); then one query for the lots met (material, supplier, receipt date), one for
  the sub-assemblies met (serial, product) and one for the production logs of those work orders (operation,
  operator, date). Kept apart, each statement's estimated cost stays far below PostgreSQL's `jit_above_cost`: one
  statement joining it all was estimated past it and spent 30 ms compiling for 1 ms of work. Indexes:
  `material_consumptions (work_order_id)`, the primary keys, `production_logs (work_order_id, id)`.

UNION (not UNION ALL) makes each walk visit a work order once, so it ends even on a genealogy a seeded database
may have made cyclic (the API refuses cycles, services/mes/consumption.py). Reads only."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.errors import AppError
from models.catalog import Material, Part
from models.mes import WorkOrder
from models.mes.traceability import Lot, ProductSerial

MAX_DEPTH = 64  # levels of sub-assemblies the backward walk follows (a guard; real products have a handful)

FORWARD_ORDERS = """
    WITH RECURSIVE affected(work_order_id) AS (
        {seed}
        UNION
        SELECT mc.work_order_id FROM affected a
        JOIN product_serials ps ON ps.work_order_id = a.work_order_id
        JOIN material_consumptions mc ON mc.component_serial_id = ps.id
    )
    SELECT wo.id, wo.work_order_number, p.name, wo.quantity_completed
    FROM affected a JOIN work_orders wo ON wo.id = a.work_order_id JOIN parts p ON p.id = wo.part_id
    ORDER BY wo.id
"""
FROM_LOT = text(FORWARD_ORDERS.format(seed="SELECT mc.work_order_id FROM material_consumptions mc "
                                           "WHERE mc.lot_id = :start"))
FROM_SERIAL = text(FORWARD_ORDERS.format(seed="SELECT mc.work_order_id FROM material_consumptions mc "
                                              "WHERE mc.component_serial_id = :start"))
# The serials of the affected work orders, and the work order each went into (none: not consumed).
SERIALS_OF = text("""
    SELECT ps.work_order_id, ps.serial_number,
           (SELECT mc.work_order_id FROM material_consumptions mc WHERE mc.component_serial_id = ps.id)
    FROM product_serials ps
    WHERE ps.work_order_id = ANY(:ids)
    ORDER BY ps.id
""")
SHIPPED = """
    SELECT si.work_order_id, s.shipment_number, s.ship_date, c.id, c.name, c.contact_email, c.contact_phone,
           ps.serial_number, si.quantity
    FROM shipment_items si
    JOIN shipments s ON s.id = si.shipment_id
    JOIN customers c ON c.id = s.customer_id
    LEFT JOIN product_serials ps ON ps.id = si.product_serial_id
    WHERE {where}
    ORDER BY s.ship_date, s.id, si.id
"""
SHIPPED_OF_ORDERS = text(SHIPPED.format(where="si.work_order_id = ANY(:ids)"))
SHIPPED_OF_SERIAL = text(SHIPPED.format(where="si.product_serial_id = :serial_id"))
BACKWARD = text("""
    WITH RECURSIVE tree(work_order_id, depth) AS (
        SELECT CAST(:start AS integer), 0
        UNION
        SELECT ps.work_order_id, t.depth + 1 FROM tree t
        JOIN material_consumptions mc ON mc.work_order_id = t.work_order_id AND mc.component_serial_id IS NOT NULL
        JOIN product_serials ps ON ps.id = mc.component_serial_id
        WHERE t.depth < :max_depth
    ),
    orders AS (SELECT work_order_id, min(depth) AS depth FROM tree GROUP BY work_order_id)
    SELECT o.depth, o.work_order_id, wo.work_order_number, used.quantity, used.lot_id, used.component_serial_id
    FROM orders o
    JOIN work_orders wo ON wo.id = o.work_order_id
    CROSS JOIN LATERAL (
        SELECT mc.id, mc.quantity, mc.lot_id, mc.component_serial_id FROM material_consumptions mc
        WHERE mc.work_order_id = o.work_order_id
        OFFSET 0
    ) AS used
    ORDER BY o.depth, used.id
""")
LOTS_OF = text("""
    SELECT l.id, m.name, l.lot_number, s.name, l.receipt_date
    FROM lots l JOIN materials m ON m.id = l.material_id LEFT JOIN suppliers s ON s.id = l.supplier_id
    WHERE l.id = ANY(:ids)
""")
COMPONENTS_OF = text("""
    SELECT ps.id, p.name, ps.serial_number, ps.work_order_id
    FROM product_serials ps JOIN parts p ON p.id = ps.part_id
    WHERE ps.id = ANY(:ids)
""")
OPERATIONS = text("""
    SELECT wo.work_order_number, ro.name, coalesce(u.full_name, u.username), (pl.logged_at AT TIME ZONE 'UTC')::date,
           sum(pl.quantity_completed)
    FROM production_logs pl
    JOIN work_orders wo ON wo.id = pl.work_order_id
    JOIN users u ON u.id = pl.operator_id
    LEFT JOIN routing_operations ro ON ro.id = pl.operation_id
    WHERE pl.work_order_id = ANY(:ids)
    GROUP BY wo.id, wo.work_order_number, ro.sequence, ro.name, u.id, u.full_name, u.username,
             (pl.logged_at AT TIME ZONE 'UTC')::date
    ORDER BY array_position(CAST(:ids AS integer[]), wo.id), 4, ro.sequence NULLS LAST, 3
""")


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str
    contact_email: str | None
    contact_phone: str | None


@dataclass(frozen=True)
class ShippedUnit:
    """One line of a shipment: a serial, or a quantity of a work order's unserialised output."""

    work_order_number: str
    product_name: str
    shipment_number: str
    ship_date: date
    customer: CustomerRef
    serial_number: str | None
    quantity: int


@dataclass
class AffectedProduct:
    """An affected work order: its units, its serials and where they went."""

    work_order_id: int
    work_order_number: str
    product_name: str
    quantity: int
    inside: int = 0  # of its units, those that went into another affected unit
    serial_numbers: list[str] = field(default_factory=list)
    shipped: list[ShippedUnit] = field(default_factory=list)

    @property
    def end_units(self) -> int:
        """Its units that are not inside another affected unit (a motor inside a recalled pump counts once)."""
        return max(self.quantity - self.inside, 0)

    def shipments(self) -> list[ShippedUnit]:
        """One line per shipment (its first), in shipping order."""
        first: OrderedDict[str, ShippedUnit] = OrderedDict()
        for unit in self.shipped:
            first.setdefault(unit.shipment_number, unit)
        return list(first.values())


@dataclass(frozen=True)
class ForwardTrace:
    lot_number: str | None
    serial_number: str | None
    name: str  # the lot's material, or the serial's product
    products: list[AffectedProduct]

    @property
    def shipped(self) -> list[ShippedUnit]:
        return [unit for product in self.products for unit in product.shipped]

    @property
    def customers(self) -> list[CustomerRef]:
        """The distinct customers that received an affected unit, in shipping order."""
        found: OrderedDict[int, CustomerRef] = OrderedDict()
        for unit in sorted(self.shipped, key=lambda u: (u.ship_date, u.shipment_number)):
            found.setdefault(unit.customer.id, unit.customer)
        return list(found.values())

    @property
    def total_units(self) -> int:
        return sum(product.end_units for product in self.products)


@dataclass(frozen=True)
class MaterialUsed:
    level: int  # 0: consumed by the serial's own work order; 1: by one of its sub-assemblies' …
    work_order_number: str  # the work order that consumed it
    material_name: str
    lot_number: str | None
    serial_number: str | None
    supplier: str | None
    receipt_date: date | None
    quantity: Decimal


@dataclass(frozen=True)
class OperationPerformed:
    work_order_number: str
    operation: str | None
    operator: str
    date: date
    quantity: int


@dataclass(frozen=True)
class BackwardTrace:
    serial_number: str
    product_name: str
    work_order_number: str
    completed_date: date | None
    materials_used: list[MaterialUsed]
    operations_performed: list[OperationPerformed]


def not_found(kind: str, value: str) -> AppError:
    return AppError("NOT_FOUND", 404, "Not found", f"{kind} {value} not found")


def forward_from_lot(session: Session, lot_number: str) -> ForwardTrace:
    """Where the lot went: every work order that consumed it, at any depth of sub-assemblies, and its customers."""
    lot = session.execute(select(Lot.id, Material.name).join(Material, Material.id == Lot.material_id)
                          .where(Lot.lot_number == lot_number)).first()
    if lot is None:
        raise not_found("Lot", lot_number)
    products = _affected(session, FROM_LOT, lot.id)
    return ForwardTrace(lot_number, None, lot.name, products)


def forward_from_serial(session: Session, serial_number: str) -> ForwardTrace:
    """Where the unit went: shipped itself, or inside the units of the work orders that consumed it (any depth)."""
    serial = _serial(session, serial_number)
    own = AffectedProduct(serial.work_order_id, serial.work_order_number, serial.product_name, 1,
                          serial_numbers=[serial_number])
    own.shipped = _shipped(session, SHIPPED_OF_SERIAL, {"serial_id": serial.id},
                           {serial.work_order_id: own})
    products = _affected(session, FROM_SERIAL, serial.id)
    own.inside = 1 if products else 0
    return ForwardTrace(None, serial_number, serial.product_name, [own, *products])


def _serial(session: Session, serial_number: str) -> Any:
    row = session.execute(
        select(ProductSerial.id, ProductSerial.work_order_id, WorkOrder.work_order_number, Part.name.label(
            "product_name"), WorkOrder.completed_at)
        .join(WorkOrder, WorkOrder.id == ProductSerial.work_order_id).join(Part, Part.id == ProductSerial.part_id)
        .where(ProductSerial.serial_number == serial_number)).first()
    if row is None:
        raise not_found("Serial number", serial_number)
    return row


def _affected(session: Session, walk: Any, start: int) -> list[AffectedProduct]:
    """The recursive walk, then the serials (with where each went) and the shipments of every work order it found
    (two queries). A work order's quantity is its completed units, or the units shipped of it when more."""
    products = {row[0]: AffectedProduct(row[0], row[1], row[2], int(row[3]))
                for row in session.execute(walk, {"start": start})}
    if not products:
        return []
    ids = list(products)
    for work_order_id, serial_number, into in session.execute(SERIALS_OF, {"ids": ids}).tuples().all():
        product = products[work_order_id]
        product.serial_numbers.append(serial_number)
        product.inside += into in products
    for product, unit in _shipped_rows(session, SHIPPED_OF_ORDERS, {"ids": ids}, products):
        product.shipped.append(unit)
    for product in products.values():
        product.quantity = max(product.quantity, sum(unit.quantity for unit in product.shipped))
    return list(products.values())


def _shipped(session: Session, query: Any, params: dict[str, Any],
             products: dict[int, AffectedProduct]) -> list[ShippedUnit]:
    return [unit for _, unit in _shipped_rows(session, query, params, products)]


def _shipped_rows(session: Session, query: Any, params: dict[str, Any],
                  products: dict[int, AffectedProduct]) -> list[tuple[AffectedProduct, ShippedUnit]]:
    rows = []
    for work_order_id, number, ship_date, cid, cname, email, phone, serial, quantity in session.execute(
            query, params).tuples().all():
        product = products[work_order_id]
        rows.append((product, ShippedUnit(product.work_order_number, product.product_name, number, ship_date,
                                          CustomerRef(cid, cname, email, phone), serial, int(quantity))))
    return rows


def backward(session: Session, serial_number: str) -> BackwardTrace:
    """What the unit is made of: every lot and sub-assembly its work order consumed, and theirs, at any depth;
    and the operations logged on each of those work orders. Five statements whatever the depth."""
    serial = _serial(session, serial_number)
    used = session.execute(BACKWARD, {"start": serial.work_order_id, "max_depth": MAX_DEPTH}).tuples().all()
    lots = _by_id(session, LOTS_OF, [row[4] for row in used if row[4] is not None])
    components = _by_id(session, COMPONENTS_OF, [row[5] for row in used if row[5] is not None])
    materials: list[MaterialUsed] = []
    tree = [serial.work_order_id]
    for depth, work_order_id, consumer, quantity, lot_id, component_id in used:
        if work_order_id not in tree:
            tree.append(work_order_id)
        if lot_id is not None:
            _, name, lot_number, supplier, receipt = lots[lot_id]
            materials.append(MaterialUsed(depth, consumer, name, lot_number, None, supplier, receipt, quantity))
        else:
            _, name, component, maker = components[component_id]
            materials.append(MaterialUsed(depth, consumer, name, None, component, None, None, quantity))
            if maker not in tree:  # a sub-assembly's work order that consumed nothing still has its operations
                tree.append(maker)
    operations = [OperationPerformed(number, name, operator, day, int(units)) for number, name, operator, day, units
                  in session.execute(OPERATIONS, {"ids": tree}).tuples().all()]
    completed = serial.completed_at.date() if serial.completed_at else None
    return BackwardTrace(serial_number, serial.product_name, serial.work_order_number, completed, materials,
                         operations)


def _by_id(session: Session, query: Any, ids: list[int]) -> dict[int, Any]:
    """Rows of a follow-up query by their first column, the id (no statement for no ids)."""
    return {row[0]: row for row in session.execute(query, {"ids": ids}).tuples().all()} if ids else {}
