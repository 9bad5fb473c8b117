"""`/api/v1/suppliers` (aerospace): suppliers and their material catalogues."""

from typing import Annotated

from fastapi import Depends, Query

from api.catalog.schemas import (
    DeletedOut,
    Paging,
    PathId,
    SupplierCreate,
    SupplierMaterialCreate,
    SupplierMaterialOut,
    SupplierOut,
    SupplierUpdate,
    deleted,
    supplier_material_out,
    supplier_out,
)
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.contracts.wire import AerospacePage, IfMatch, expected_version, paged
from api.deps import SessionDep, require
from core.permissions import Perm
from services.catalog import suppliers
from services.catalog.master_data import SupplierStatus, SupplierTier
from services.identity import Principal

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/suppliers", tags=["suppliers"])


@router.get("", dependencies=[require(Perm.VIEW_SUPPLIERS)])
def list_suppliers(session: SessionDep, paging: Annotated[Paging, Depends()], status: SupplierStatus | None = None,
                   tier: SupplierTier | None = None,
                   search: SafeStr | None = Query(None, max_length=200)) -> AerospacePage[SupplierOut]:
    rows, total = suppliers.list_suppliers(session, paging.offset, paging.size, status, tier, search)
    return AerospacePage[SupplierOut].model_validate(
        paged([supplier_out(s) for s in rows], total, paging.page, paging.size))


@router.post("", status_code=201)
def create_supplier(body: SupplierCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_SUPPLIERS)) -> SupplierOut:
    return supplier_out(suppliers.create_supplier(session, user.id, body.model_dump(exclude_unset=True)))


@router.get("/{supplier_id}", dependencies=[require(Perm.VIEW_SUPPLIERS)])
def get_supplier(supplier_id: PathId, session: SessionDep) -> SupplierOut:
    return supplier_out(suppliers.get_supplier(session, supplier_id))


@router.put("/{supplier_id}")
def update_supplier(supplier_id: PathId, body: SupplierUpdate, session: SessionDep, if_match: IfMatch = None,
                    user: Principal = require(Perm.MANAGE_SUPPLIERS)) -> SupplierOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    supplier = suppliers.update_supplier(session, user.id, supplier_id, changes, expected_version(body, if_match))
    return supplier_out(supplier)


@router.delete("/{supplier_id}")
def delete_supplier(supplier_id: PathId, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_SUPPLIERS)) -> DeletedOut:
    suppliers.delete_supplier(session, user.id, supplier_id)
    return deleted("Supplier", supplier_id)


# --- catalogue ------------------------------------------------------------------------------------------

@router.get("/{supplier_id}/materials", dependencies=[require(Perm.VIEW_SUPPLIERS)])
def list_supplier_materials(supplier_id: PathId, session: SessionDep) -> list[SupplierMaterialOut]:
    return [supplier_material_out(entry, material)
            for entry, material in suppliers.list_supplier_materials(session, supplier_id)]


@router.post("/{supplier_id}/materials", status_code=201)
def add_supplier_material(supplier_id: PathId, body: SupplierMaterialCreate, session: SessionDep,
                          user: Principal = require(Perm.MANAGE_SUPPLIERS)) -> SupplierMaterialOut:
    values = body.model_dump(exclude_unset=True)
    return supplier_material_out(*suppliers.add_supplier_material(session, user.id, supplier_id, values))
