"""Parts and their bill of materials. Never commits."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.catalog import Material, Part, PartMaterial
from services.catalog import master_data as catalog
from services.common.guards import check_version, locked
from services.common.queries import given


def get_part(session: Session, part_id: int) -> Part:
    part = session.get(Part, part_id)
    if part is None:
        raise not_found("Part", part_id)
    return part


def list_parts(session: Session, offset: int, limit: int, status: str | None = None, criticality: str | None = None,
               search: str | None = None) -> tuple[list[Part], int]:
    conditions = given((status, Part.status == status), (criticality, Part.criticality == criticality))
    if search:
        conditions.append(catalog.contains(search, Part.name, Part.part_number, Part.drawing_number))
    query = select(Part).where(*conditions)
    rows = session.scalars(query.order_by(Part.id).offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, select(Part.id).where(*conditions))


def _number_taken(number: Any) -> AppError:
    return catalog.duplicate("Part number", "part_number", number)


def create_part(session: Session, actor_id: int, values: dict[str, Any]) -> Part:
    values = {k: v for k, v in values.items() if v is not None}
    if catalog.taken(session, Part.part_number, values["part_number"]):
        raise _number_taken(values["part_number"])
    part = catalog.insert(session, Part(**values), _number_taken(values["part_number"]))
    catalog.record_created(session, actor_id, part, "part", "PART_CREATED")
    return part


def update_part(session: Session, actor_id: int, part_id: int, changes: dict[str, Any],
                expected_version: int | None) -> Part:
    part = locked(session, Part, part_id, "Part")
    check_version(part, expected_version, "Part")
    changes = catalog.settable(part, changes)
    number = changes.get("part_number")
    if number is not None and catalog.taken(session, Part.part_number, number, exclude_id=part.id):
        raise _number_taken(number)
    catalog.apply_update(session, actor_id, part, changes, "part", "PART_UPDATED", _number_taken(number))
    return part


def delete_part(session: Session, actor_id: int, part_id: int) -> None:
    """Its bill of materials goes with it; a part that other records reference is refused."""
    part = locked(session, Part, part_id, "Part")
    snapshot = catalog.columns_of(part)
    snapshot["bill_of_materials"] = list(session.scalars(select(PartMaterial.material_id)
                                                         .where(PartMaterial.part_id == part.id)))
    catalog.delete(session, part, lambda table: catalog.in_use("PART_IN_USE", "Part", part_id, [table]))
    catalog.record_deleted(session, actor_id, snapshot, "part", "PART_DELETED")


# --- bill of materials ----------------------------------------------------------------------------------

def list_part_materials(session: Session, part_id: int) -> list[tuple[PartMaterial, Material]]:
    get_part(session, part_id)
    rows = session.execute(select(PartMaterial, Material).join(Material, Material.id == PartMaterial.material_id)
                           .where(PartMaterial.part_id == part_id).order_by(PartMaterial.id))
    return [(line, material) for line, material in rows.tuples()]


def add_part_material(session: Session, actor_id: int, part_id: int,
                      values: dict[str, Any]) -> tuple[PartMaterial, Material]:
    """One line per material in a part's bill of materials; a second one for the same material is a 409."""
    get_part(session, part_id)
    if values.pop("part_id", None) not in (None, part_id):
        raise catalog.invalid("part_id", f"part_id must match the part in the path ({part_id})")
    material = session.get(Material, values["material_id"])
    if material is None:
        raise catalog.missing("Material", values["material_id"], "material_id")
    duplicate = AppError("DUPLICATE_ENTRY", 409, f"Material {material.id} is already in the bill of materials "
                         f"of part {part_id}", {"field": "material_id", "part_id": part_id,
                                                "material_id": material.id})
    if session.scalar(select(PartMaterial.id).where(PartMaterial.part_id == part_id,
                                                    PartMaterial.material_id == material.id)):
        raise duplicate
    values = {k: v for k, v in values.items() if v is not None}
    line = catalog.insert(session, PartMaterial(part_id=part_id, **values), duplicate,
                          catalog.missing("Material", material.id, "material_id"))
    catalog.record_created(session, actor_id, line, "part_material", "PART_MATERIAL_ADDED")
    return line, material


def remove_part_material(session: Session, actor_id: int, part_id: int, material_id: int) -> None:
    """`material_id` is the material's id (the line's key within its part)."""
    get_part(session, part_id)
    line = session.scalars(select(PartMaterial).where(PartMaterial.part_id == part_id,
                                                      PartMaterial.material_id == material_id)
                           .with_for_update()).first()
    if line is None:
        raise AppError("NOT_FOUND", 404, f"Material {material_id} is not in the bill of materials of part {part_id}",
                       {"part_id": part_id, "material_id": material_id})
    snapshot = catalog.columns_of(line)
    session.delete(line)
    session.flush()
    catalog.record_deleted(session, actor_id, snapshot, "part_material", "PART_MATERIAL_REMOVED")
