"""`/api/v1/plants` (an addition the ERP contract's machines and shifts need): the sites machines and shift
patterns belong to. Services: services/mes/plants.py."""

from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import SafeStr
from api.deps import SessionDep, require
from api.mes.equipment_schemas import PlantCreate, PlantListOut, PlantOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import plants

router = dialect_router(Dialect.ERP, prefix="/api/v1/plants", tags=["erp: equipment"])


@router.get("", dependencies=[require(Perm.VIEW_EQUIPMENT)])
def list_plants(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                search: SafeStr | None = Query(None, max_length=200)) -> PlantListOut:
    rows, total = plants.list_plants(session, paging.offset, paging.per_page, search)
    return PlantListOut(plants=[PlantOut.model_validate(p, from_attributes=True) for p in rows], total=total,
                        page=paging.page, per_page=paging.per_page)


@router.post("", status_code=201)
def create_plant(body: PlantCreate, session: SessionDep, user: Principal = require(Perm.MANAGE_EQUIPMENT)) -> PlantOut:
    """A new plant; a code already used is the contract's validation failure on `code`."""
    with field_errors():
        return PlantOut.model_validate(plants.create_plant(session, user.id, body.model_dump()), from_attributes=True)
