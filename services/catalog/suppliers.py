"""Suppliers (one table for every contract that names them) and their material catalogues. Never commits."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.catalog import Material, Supplier, SupplierMaterial
from services.catalog import master_data as catalog
from services.common.guards import check_version, locked
from services.common.queries import given


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise not_found("Supplier", supplier_id)
    return supplier


def list_suppliers(session: Session, offset: int, limit: int, status: str | None = None, tier: str | None = None,
                   search: str | None = None) -> tuple[list[Supplier], int]:
    conditions = given((status, Supplier.status == status), (tier, Supplier.tier == tier))
    if search:
        conditions.append(catalog.contains(search, Supplier.name, Supplier.code, Supplier.cage_code))
    query = select(Supplier).where(*conditions)
    rows = session.scalars(query.order_by(Supplier.id).offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, select(Supplier.id).where(*conditions))


def _code_taken(code: Any) -> AppError:
    return catalog.duplicate("Supplier code", "code", code)


def create_supplier(session: Session, actor_id: int, values: dict[str, Any]) -> Supplier:
    values = {k: v for k, v in values.items() if v is not None}
    if catalog.taken(session, Supplier.code, values["code"]):
        raise _code_taken(values["code"])
    supplier = catalog.insert(session, Supplier(**values), _code_taken(values["code"]))
    catalog.record_created(session, actor_id, supplier, "supplier", "SUPPLIER_CREATED")
    return supplier


def update_supplier(session: Session, actor_id: int, supplier_id: int, changes: dict[str, Any],
                    expected_version: int | None) -> Supplier:
    supplier = locked(session, Supplier, supplier_id, "Supplier")
    check_version(supplier, expected_version, "Supplier")
    changes = catalog.settable(supplier, changes)
    code = changes.get("code")
    if code is not None and catalog.taken(session, Supplier.code, code, exclude_id=supplier.id):
        raise _code_taken(code)
    catalog.apply_update(session, actor_id, supplier, changes, "supplier", "SUPPLIER_UPDATED", _code_taken(code))
    return supplier


def delete_supplier(session: Session, actor_id: int, supplier_id: int) -> None:
    """Its catalogue goes with it; a supplier that orders or receipts reference is refused."""
    supplier = locked(session, Supplier, supplier_id, "Supplier")
    snapshot = catalog.columns_of(supplier)
    snapshot["catalogue"] = list(session.scalars(select(SupplierMaterial.material_id)
                                                 .where(SupplierMaterial.supplier_id == supplier.id)))
    catalog.delete(session, supplier,
                   lambda table: catalog.in_use("SUPPLIER_IN_USE", "Supplier", supplier_id, [table]))
    catalog.record_deleted(session, actor_id, snapshot, "supplier", "SUPPLIER_DELETED")


# --- catalogue ------------------------------------------------------------------------------------------

def list_supplier_materials(session: Session, supplier_id: int) -> list[tuple[SupplierMaterial, Material]]:
    get_supplier(session, supplier_id)
    rows = session.execute(select(SupplierMaterial, Material)
                           .join(Material, Material.id == SupplierMaterial.material_id)
                           .where(SupplierMaterial.supplier_id == supplier_id).order_by(SupplierMaterial.id))
    return [(entry, material) for entry, material in rows.tuples()]


def add_supplier_material(session: Session, actor_id: int, supplier_id: int,
                          values: dict[str, Any]) -> tuple[SupplierMaterial, Material]:
    """One catalogue entry per material and supplier; a second one is a 409."""
    get_supplier(session, supplier_id)
    if values.pop("supplier_id", None) not in (None, supplier_id):
        raise catalog.invalid("supplier_id", f"supplier_id must match the supplier in the path ({supplier_id})")
    material = session.get(Material, values["material_id"])
    if material is None:
        raise catalog.missing("Material", values["material_id"], "material_id")
    duplicate = AppError("DUPLICATE_ENTRY", 409, f"Material {material.id} is already in the catalogue of "
                         f"supplier {supplier_id}", {"field": "material_id", "supplier_id": supplier_id,
                                                     "material_id": material.id})
    if session.scalar(select(SupplierMaterial.id).where(SupplierMaterial.supplier_id == supplier_id,
                                                        SupplierMaterial.material_id == material.id)):
        raise duplicate
    values = {k: v for k, v in values.items() if v is not None}
    entry = catalog.insert(session, SupplierMaterial(supplier_id=supplier_id, **values), duplicate,
                           catalog.missing("Material", material.id, "material_id"))
    catalog.record_created(session, actor_id, entry, "supplier_material", "SUPPLIER_MATERIAL_ADDED")
    return entry, material
