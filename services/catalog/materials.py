"""Material categories and the one item master (aerospace materials = ERP materials = stock items, keyed
by `code`). Never commits."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.catalog import Material, MaterialCategory, MaterialCertification, PartMaterial, SupplierMaterial
from services.catalog import master_data as catalog
from services.common.guards import check_version, locked
from services.common.queries import given

MAX_CATEGORY_DEPTH = 100


@dataclass(frozen=True)
class MaterialFilters:
    category_id: int | None = None
    material_type: str | None = None
    status: str | None = None
    search: str | None = None


# --- categories -----------------------------------------------------------------------------------------

def get_category(session: Session, category_id: int) -> MaterialCategory:
    category = session.get(MaterialCategory, category_id)
    if category is None:
        raise not_found("Category", category_id)
    return category


def list_categories(session: Session, offset: int, limit: int,
                    parent_id: int | None = None) -> tuple[list[MaterialCategory], int]:
    query = select(MaterialCategory).where(*given((parent_id, MaterialCategory.parent_id == parent_id)))
    rows = session.scalars(query.order_by(MaterialCategory.id).offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, query)


def _check_parent(session: Session, category_id: int | None, parent_id: int | None) -> None:
    """The parent exists and is neither the category itself nor one of its descendants."""
    if parent_id is None:
        return
    if parent_id == category_id:
        raise catalog.invalid("parent_id", "A category cannot be its own parent")
    ancestor = session.get(MaterialCategory, parent_id)
    if ancestor is None:
        raise catalog.missing("Category", parent_id, "parent_id")
    for _ in range(MAX_CATEGORY_DEPTH):
        if ancestor.parent_id is None:
            return
        if ancestor.parent_id == category_id:
            raise catalog.invalid("parent_id", "A category cannot be placed under one of its own descendants")
        ancestor = session.get_one(MaterialCategory, ancestor.parent_id)
    raise catalog.invalid("parent_id", f"Categories nest at most {MAX_CATEGORY_DEPTH} levels deep")


def _category_code_taken(code: object) -> AppError:
    return catalog.duplicate("Category code", "code", code)


def create_category(session: Session, actor_id: int, values: dict[str, Any]) -> MaterialCategory:
    _check_parent(session, None, values.get("parent_id"))
    if catalog.taken(session, MaterialCategory.code, values["code"]):
        raise _category_code_taken(values["code"])
    category = catalog.insert(session, MaterialCategory(**values), _category_code_taken(values["code"]),
                              catalog.missing("Category", values.get("parent_id"), "parent_id"))
    catalog.record_created(session, actor_id, category, "material_category", "CATEGORY_CREATED")
    return category


def update_category(session: Session, actor_id: int, category_id: int, changes: dict[str, Any]) -> MaterialCategory:
    category = locked(session, MaterialCategory, category_id, "Category")
    changes = catalog.settable(category, changes)
    if "parent_id" in changes:
        _check_parent(session, category.id, changes["parent_id"])
    code = changes.get("code")
    if code is not None and catalog.taken(session, MaterialCategory.code, code, exclude_id=category.id):
        raise _category_code_taken(code)
    catalog.apply_update(session, actor_id, category, changes, "material_category", "CATEGORY_UPDATED",
                         _category_code_taken(code))
    return category


def delete_category(session: Session, actor_id: int, category_id: int) -> None:
    category = locked(session, MaterialCategory, category_id, "Category")
    used_by = [table for table, used in (
        ("material_categories", catalog.taken(session, MaterialCategory.parent_id, category.id)),
        ("materials", catalog.taken(session, Material.category_id, category.id))) if used]
    if used_by:
        raise catalog.in_use("CATEGORY_IN_USE", "Category", category.id, used_by)
    snapshot = catalog.columns_of(category)
    catalog.delete(session, category, lambda table: catalog.in_use("CATEGORY_IN_USE", "Category", category_id,
                                                                   [table]))
    catalog.record_deleted(session, actor_id, snapshot, "material_category", "CATEGORY_DELETED")


# --- materials ------------------------------------------------------------------------------------------

def _with_category() -> Select[Material, MaterialCategory]:
    return select(Material, MaterialCategory).outerjoin(MaterialCategory,
                                                        MaterialCategory.id == Material.category_id)


def get_material(session: Session, material_id: int) -> tuple[Material, MaterialCategory | None]:
    row = session.execute(_with_category().where(Material.id == material_id)).first()
    if row is None:
        raise not_found("Material", material_id)
    return row[0], row[1]


def list_materials(session: Session, offset: int, limit: int,
                   filters: MaterialFilters) -> tuple[list[tuple[Material, MaterialCategory | None]], int]:
    conditions = given((filters.category_id, Material.category_id == filters.category_id),
                       (filters.material_type, Material.material_type == filters.material_type),
                       (filters.status, Material.status == filters.status))
    if filters.search:
        conditions.append(catalog.contains(filters.search, Material.name, Material.code))
    rows = session.execute(_with_category().where(*conditions).order_by(Material.id).offset(offset).limit(limit))
    total = catalog.count(session, select(Material.id).where(*conditions))
    return [(m, c) for m, c in rows.tuples()], total


def _check_category(session: Session, category_id: int | None) -> MaterialCategory | None:
    if category_id is None:
        return None
    category = session.get(MaterialCategory, category_id)
    if category is None:
        raise catalog.missing("Category", category_id, "category_id")
    return category


def _check_stock_levels(low: Any, high: Any) -> None:
    if low is not None and high is not None and low > high:
        raise catalog.invalid("maximum_stock_level", "maximum_stock_level must not be below minimum_stock_level")


def _code_taken(code: object, code_field: str) -> AppError:
    return catalog.duplicate("Material code", code_field, code)


def create_material(session: Session, actor_id: int, values: dict[str, Any],
                    code_field: str = "part_number") -> tuple[Material, MaterialCategory | None]:
    """`values` use the column names (`code`, `unit_cost`); `code_field` is how the caller's body named
    the code, for the error that names it."""
    values = {k: v for k, v in values.items() if v is not None}
    category = _check_category(session, values.get("category_id"))
    if catalog.taken(session, Material.code, values["code"]):
        raise _code_taken(values["code"], code_field)
    _check_stock_levels(values.get("minimum_stock_level"), values.get("maximum_stock_level"))
    material = Material(**values)
    catalog.insert(session, material, _code_taken(values["code"], code_field),
                   catalog.missing("Category", values.get("category_id"), "category_id"))
    catalog.record_created(session, actor_id, material, "material", "MATERIAL_CREATED")
    return material, category


def update_material(session: Session, actor_id: int, material_id: int, changes: dict[str, Any],
                    expected_version: int | None,
                    code_field: str = "part_number") -> tuple[Material, MaterialCategory | None]:
    material = locked(session, Material, material_id, "Material")
    check_version(material, expected_version, "Material")
    changes = catalog.settable(material, changes)
    if "category_id" in changes:
        _check_category(session, changes["category_id"])
    code = changes.get("code")
    if code is not None and catalog.taken(session, Material.code, code, exclude_id=material.id):
        raise _code_taken(code, code_field)
    _check_stock_levels(changes.get("minimum_stock_level", material.minimum_stock_level),
                        changes.get("maximum_stock_level", material.maximum_stock_level))
    catalog.apply_update(session, actor_id, material, changes, "material", "MATERIAL_UPDATED",
                         _code_taken(code, code_field))
    return get_material(session, material.id)


def _material_users(session: Session, material_id: int) -> list[str]:
    """Links this service owns that keep a material alive; stock and orders hold foreign keys instead."""
    links: tuple[tuple[str, Any], ...] = (("part_materials", PartMaterial.material_id),
                                          ("supplier_materials", SupplierMaterial.material_id),
                                          ("material_certifications", MaterialCertification.material_id))
    return [table for table, column in links if catalog.taken(session, column, material_id)]


def delete_material(session: Session, actor_id: int, material_id: int) -> None:
    """A hard delete of a material nothing uses; otherwise 409 and nothing removed."""
    material = locked(session, Material, material_id, "Material")
    used_by = _material_users(session, material.id)
    if used_by:
        raise catalog.in_use("MATERIAL_IN_USE", "Material", material.id, used_by)
    snapshot = catalog.columns_of(material)
    catalog.delete(session, material, lambda table: catalog.in_use("MATERIAL_IN_USE", "Material", material_id,
                                                                   [table]))
    catalog.record_deleted(session, actor_id, snapshot, "material", "MATERIAL_DELETED")
