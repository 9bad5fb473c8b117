"""`/api/v1/parts` (aerospace): parts and their bill of materials."""

from typing import Annotated

from fastapi import Depends, Query

from api.catalog.schemas import (
    DeletedOut,
    MaterialRemovedOut,
    Paging,
    PartCreate,
    PartMaterialCreate,
    PartMaterialOut,
    PartOut,
    PartUpdate,
    PathId,
    deleted,
    part_material_out,
    part_out,
)
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.contracts.wire import AerospacePage, IfMatch, expected_version, paged
from api.deps import SessionDep, require
from core.permissions import Perm
from services.catalog import parts
from services.catalog.master_data import PartCriticality, PartStatus
from services.identity import Principal

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/parts", tags=["parts"])


@router.get("", dependencies=[require(Perm.VIEW_PARTS)])
def list_parts(session: SessionDep, paging: Annotated[Paging, Depends()], status: PartStatus | None = None,
               criticality: PartCriticality | None = None,
               search: SafeStr | None = Query(None, max_length=200)) -> AerospacePage[PartOut]:
    rows, total = parts.list_parts(session, paging.offset, paging.size, status, criticality, search)
    return AerospacePage[PartOut].model_validate(paged([part_out(p) for p in rows], total, paging.page, paging.size))


@router.post("", status_code=201)
def create_part(body: PartCreate, session: SessionDep, user: Principal = require(Perm.MANAGE_PARTS)) -> PartOut:
    return part_out(parts.create_part(session, user.id, body.model_dump(exclude_unset=True)))


@router.get("/{part_id}", dependencies=[require(Perm.VIEW_PARTS)])
def get_part(part_id: PathId, session: SessionDep) -> PartOut:
    return part_out(parts.get_part(session, part_id))


@router.put("/{part_id}")
def update_part(part_id: PathId, body: PartUpdate, session: SessionDep, if_match: IfMatch = None,
                user: Principal = require(Perm.MANAGE_PARTS)) -> PartOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    return part_out(parts.update_part(session, user.id, part_id, changes, expected_version(body, if_match)))


@router.delete("/{part_id}")
def delete_part(part_id: PathId, session: SessionDep, user: Principal = require(Perm.MANAGE_PARTS)) -> DeletedOut:
    parts.delete_part(session, user.id, part_id)
    return deleted("Part", part_id)


# --- bill of materials ----------------------------------------------------------------------------------

@router.get("/{part_id}/materials", dependencies=[require(Perm.VIEW_PARTS)])
def list_part_materials(part_id: PathId, session: SessionDep) -> list[PartMaterialOut]:
    return [part_material_out(line, material) for line, material in parts.list_part_materials(session, part_id)]


@router.post("/{part_id}/materials", status_code=201)
def add_part_material(part_id: PathId, body: PartMaterialCreate, session: SessionDep,
                      user: Principal = require(Perm.MANAGE_BOM)) -> PartMaterialOut:
    return part_material_out(*parts.add_part_material(session, user.id, part_id, body.model_dump(exclude_unset=True)))


@router.delete("/{part_id}/materials/{material_id}")
def remove_part_material(part_id: PathId, material_id: PathId, session: SessionDep,
                         user: Principal = require(Perm.MANAGE_BOM)) -> MaterialRemovedOut:
    parts.remove_part_material(session, user.id, part_id, material_id)
    return MaterialRemovedOut(message=f"Material {material_id} removed from part {part_id}", part_id=part_id,
                              material_id=material_id)
