"""`/api/v1/materials`: the one item master, shared by the aerospace and ERP contracts, and its categories.

Both request forms are accepted and every answer carries both contracts' names. A body that names
`material_code` is an ERP body: its errors answer in the ERP dialect, validation failures as the ERP's 400
`{"error": "Validation failed", "details": [{"field", "message"}]}`; so the writes that take a body document
both dialects' error bodies."""

import json
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from api.catalog.schemas import (
    MAX_PAGE_SIZE,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    DeletedOut,
    MaterialCreate,
    MaterialOut,
    MaterialPage,
    MaterialUpdate,
    Paging,
    PathId,
    category_out,
    deleted,
    material_out,
)
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_error, field_errors
from api.contracts.errors import ERROR_STATUSES, AerospaceError, ErpError
from api.contracts.types import DbId, PageNumber, PageSize, SafeStr
from api.contracts.wire import AerospacePage, IfMatch, expected_version, page_count, paged
from api.deps import SessionDep, require
from core.permissions import Perm
from services.catalog import materials
from services.catalog.master_data import MaterialStatus, MaterialType
from services.catalog.materials import MaterialFilters
from services.identity import Principal

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/materials", tags=["materials"])

DEFAULT_PAGE_SIZE = 50  # the ERP's default; the aerospace contract names none and always sends page_size
# A write's errors: the aerospace body's, or the ERP's when the body named `material_code`.
EITHER_DIALECT_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": AerospaceError | ErpError, "description": description}
    for status, description in ERROR_STATUSES.items()}


async def erp_body(request: Request) -> bool:
    """Whether the body is the ERP's form; if so the request answers in the ERP dialect. Declared before
    the other dependencies, so even a refused permission or an invalid field answers in that dialect."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return False
    erp = isinstance(body, dict) and "material_code" in body
    if erp:
        request.state.dialect = Dialect.ERP
    return erp


ErpBody = Annotated[bool, Depends(erp_body)]


def _code_field(erp: bool) -> str:
    return "material_code" if erp else "part_number"


# --- categories (declared before `/{material_id}`) ------------------------------------------------------

@router.get("/categories", dependencies=[require(Perm.VIEW_MATERIALS)])
def list_categories(session: SessionDep, paging: Annotated[Paging, Depends()],
                    parent_id: DbId | None = None) -> AerospacePage[CategoryOut]:
    rows, total = materials.list_categories(session, paging.offset, paging.size, parent_id)
    return AerospacePage[CategoryOut].model_validate(
        paged([category_out(c) for c in rows], total, paging.page, paging.size))


@router.post("/categories", status_code=201)
def create_category(body: CategoryCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_MATERIALS)) -> CategoryOut:
    return category_out(materials.create_category(session, user.id, body.model_dump(exclude_unset=True)))


@router.get("/categories/{category_id}", dependencies=[require(Perm.VIEW_MATERIALS)])
def get_category(category_id: PathId, session: SessionDep) -> CategoryOut:
    return category_out(materials.get_category(session, category_id))


@router.put("/categories/{category_id}")
def update_category(category_id: PathId, body: CategoryUpdate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_MATERIALS)) -> CategoryOut:
    changes = body.model_dump(exclude_unset=True)
    return category_out(materials.update_category(session, user.id, category_id, changes))


@router.delete("/categories/{category_id}")
def delete_category(category_id: PathId, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_MATERIALS)) -> DeletedOut:
    materials.delete_category(session, user.id, category_id)
    return deleted("Category", category_id)


# --- materials ------------------------------------------------------------------------------------------

@router.get("", dependencies=[require(Perm.VIEW_MATERIALS)])
def list_materials(session: SessionDep, page: PageNumber = 1,
                   page_size: PageSize | None = None, per_page: PageSize | None = None,
                   category_id: DbId | None = None, material_type: MaterialType | None = None,
                   status: MaterialStatus | None = None,
                   search: SafeStr | None = Query(None, max_length=200)) -> MaterialPage:
    """Both list shapes at once: aerospace `items`/`page_size`/`total_pages`, ERP `materials`/`per_page`."""
    size = min(page_size or per_page or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    filters = MaterialFilters(category_id, material_type, status, search)
    rows, total = materials.list_materials(session, (page - 1) * size, size, filters)
    items = [material_out(m, c) for m, c in rows]
    return MaterialPage(items=items, total=total, page=page, page_size=size, total_pages=page_count(total, size),
                        materials=items, per_page=size)


@router.post("", status_code=201, responses=EITHER_DIALECT_ERRORS)
def create_material(erp: ErpBody, body: MaterialCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_MATERIALS)) -> MaterialOut:
    values = body.columns()
    if values.get("code") is None:
        raise field_error(_code_field(erp), "Field required", "missing")
    with field_errors(applies=erp):
        material, category = materials.create_material(session, user.id, values, _code_field(erp))
    return material_out(material, category)


@router.get("/{material_id}", dependencies=[require(Perm.VIEW_MATERIALS)])
def get_material(material_id: PathId, session: SessionDep) -> MaterialOut:
    return material_out(*materials.get_material(session, material_id))


@router.put("/{material_id}", responses=EITHER_DIALECT_ERRORS)
def update_material(erp: ErpBody, material_id: PathId, body: MaterialUpdate, session: SessionDep,
                    if_match: IfMatch = None, user: Principal = require(Perm.MANAGE_MATERIALS)) -> MaterialOut:
    with field_errors(applies=erp):
        material, category = materials.update_material(session, user.id, material_id, body.columns(),
                                                       expected_version(body, if_match), _code_field(erp))
    return material_out(material, category)


@router.delete("/{material_id}")
def delete_material(material_id: PathId, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_MATERIALS)) -> DeletedOut:
    materials.delete_material(session, user.id, material_id)
    return deleted("Material", material_id)
