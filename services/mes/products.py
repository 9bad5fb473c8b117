"""ERP products (`/api/v1/products`): a product is a part of the catalog flagged `is_product`, its bill of
materials the part's `part_materials` over the one item master, its routing `routing_operations`. A product's
standard cost per unit (materials at their `standard_cost`, labour at each operation's rate or the setting
DEFAULT_LABOR_RATE_PER_HOUR) is what a work order's production logs add up. Never commits."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.settings import get_settings
from models.catalog import Material, Part, PartMaterial
from models.mes import RoutingOperation
from services.catalog import master_data as catalog
from services.catalog.master_data import PartStatus
from services.common.guards import field_error
from services.mes.machines import require_machine

MINUTES_PER_HOUR = Decimal(60)


@dataclass(frozen=True)
class BomLine:
    """A line of a product's bill of materials with what the product's answer shows of its material."""

    material_id: int
    material_code: str
    material_name: str
    quantity_per_unit: Decimal
    unit_of_measure: str | None
    standard_cost: Decimal | None


@dataclass(frozen=True)
class Operation:
    id: int
    sequence: int
    name: str
    machine_id: int | None
    standard_minutes_per_unit: Decimal
    labor_rate_per_hour: Decimal | None


@dataclass(frozen=True)
class Product:
    """A product with its bill of materials and its routing, in sequence order."""

    part: Part
    bom: list[BomLine]
    operations: list[Operation]

    @property
    def material_cost_per_unit(self) -> Decimal:
        return sum((line.quantity_per_unit * (line.standard_cost or Decimal(0)) for line in self.bom), Decimal(0))

    @property
    def labor_cost_per_unit(self) -> Decimal:
        default_rate = get_settings().default_labor_rate_per_hour
        return sum((op.standard_minutes_per_unit / MINUTES_PER_HOUR * labor_rate(op, default_rate)
                    for op in self.operations), Decimal(0))


def labor_rate(operation: Operation, default_rate: Decimal) -> Decimal:
    return operation.labor_rate_per_hour if operation.labor_rate_per_hour is not None else default_rate



def _code_taken(code: str) -> AppError:
    return catalog.duplicate("Product code", "product_code", code)


def create_product(session: Session, actor_id: int, values: dict[str, Any]) -> Product:
    """The part, its bill of materials and its routing in the caller's transaction; a product code already used
    by any part, an unknown material, a material twice in the bill, a sequence twice in the routing or an unknown
    machine is refused with the field that holds it."""
    code = values["product_code"]
    if catalog.taken(session, Part.part_number, code):
        raise _code_taken(code)
    materials = _materials(session, [line["material_id"] for line in values["bom"]])
    _check_unique([op["sequence"] for op in values["operations"]], "operations", "sequence", "Sequence")
    for index, op in enumerate(values["operations"]):
        if op.get("machine_id") is not None:
            require_machine(session, op["machine_id"], f"operations.{index}.machine_id")
    part = Part(part_number=code, name=values["name"], unit_of_measure=values["unit_of_measure"],
                status=PartStatus.PRODUCTION.value, is_product=True)
    part = catalog.insert(session, part, _code_taken(code))
    for line in values["bom"]:
        material = materials[line["material_id"]]
        session.add(PartMaterial(part_id=part.id, material_id=material.id, quantity_required=line["quantity_per_unit"],
                                 unit_of_measure=material.unit_of_measure))
    for op in values["operations"]:
        session.add(RoutingOperation(part_id=part.id, **op))
    session.flush()
    catalog.record_created(session, actor_id, part, "product", "PRODUCT_CREATED")
    return get_product(session, part.id)


def _materials(session: Session, ids: list[int]) -> dict[int, Material]:
    _check_unique(ids, "bom", "material_id", "Material")
    found = {m.id: m for m in session.scalars(select(Material).where(Material.id.in_(ids)))} if ids else {}
    for index, material_id in enumerate(ids):
        if material_id not in found:
            raise field_error(f"bom.{index}.material_id", f"Material {material_id} not found")
    return found


def _check_unique(values: list[Any], collection: str, field: str, label: str) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise field_error(f"{collection}.{index}.{field}", f"{label} {value} appears twice")
        seen.add(value)


def get_product(session: Session, product_id: int) -> Product:
    part = session.get(Part, product_id)
    if part is None or not part.is_product:
        raise not_found("Product", product_id)
    return _with_details(session, [part])[0]


def list_products(session: Session, offset: int, limit: int, search: str | None) -> tuple[list[Product], int]:
    conditions: list[ColumnElement[bool]] = [Part.is_product.is_(True)]
    if search:
        conditions.append(catalog.contains(search, Part.name, Part.part_number))
    parts = list(session.scalars(select(Part).where(*conditions).order_by(Part.id).offset(offset).limit(limit)))
    return _with_details(session, parts), catalog.count(session, select(Part.id).where(*conditions))


def _with_details(session: Session, parts: list[Part]) -> list[Product]:
    """The bills and routings of a page of products, one query each, read as plain rows (a page of 50 products
    holds about 450 lines and operations: no ORM objects for them)."""
    ids = [p.id for p in parts]
    bom: dict[int, list[BomLine]] = {i: [] for i in ids}
    operations: dict[int, list[Operation]] = {i: [] for i in ids}
    if ids:
        lines = session.execute(
            select(PartMaterial.part_id, Material.id, Material.code, Material.name, PartMaterial.quantity_required,
                   PartMaterial.unit_of_measure, Material.unit_cost)
            .join(Material, Material.id == PartMaterial.material_id)
            .where(PartMaterial.part_id.in_(ids)).order_by(PartMaterial.id))
        for part_id, material_id, code, name, quantity, unit, cost in lines.tuples():
            bom[part_id].append(BomLine(material_id, code, name, quantity, unit, cost))
        steps = session.execute(
            select(RoutingOperation.part_id, RoutingOperation.id, RoutingOperation.sequence, RoutingOperation.name,
                   RoutingOperation.machine_id, RoutingOperation.standard_minutes_per_unit,
                   RoutingOperation.labor_rate_per_hour)
            .where(RoutingOperation.part_id.in_(ids)).order_by(RoutingOperation.part_id, RoutingOperation.sequence))
        for part_id, step_id, sequence, step_name, machine_id, minutes, rate in steps.tuples():
            operations[part_id].append(Operation(step_id, sequence, step_name, machine_id, minutes, rate))
    return [Product(part, bom[part.id], operations[part.id]) for part in parts]
