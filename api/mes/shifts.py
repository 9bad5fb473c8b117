"""`/api/v1/shifts` (manufacturing-erp.md §6.6: the list; the create is an addition) and `/api/v1/shift-performance`
(§6.6): a plant's shift patterns, and one shift's output, OEE and comparisons on a date. Services:
services/mes/shifts.py, shift_performance.py."""

from typing import Annotated

from fastapi import Depends

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, require
from api.mes.equipment_schemas import ShiftCreate, ShiftListOut, ShiftOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import shifts

router = dialect_router(Dialect.ERP, prefix="/api/v1", tags=["erp: shifts"])
Viewer = require(Perm.VIEW_EQUIPMENT)


@router.get("/shifts", dependencies=[Viewer])
def list_shifts(session: SessionDep, paging: Annotated[ErpPaging, Depends()], plant_id: DbId | None = None,
                active_only: bool = False) -> ShiftListOut:
    rows, total = shifts.list_shifts(session, paging.offset, paging.per_page, plant_id, active_only)
    return ShiftListOut(shifts=[ShiftOut.model_validate(s, from_attributes=True) for s in rows], total=total,
                        page=paging.page, per_page=paging.per_page)


@router.post("/shifts", status_code=201)
def create_shift(body: ShiftCreate, session: SessionDep, user: Principal = require(Perm.MANAGE_EQUIPMENT)) -> ShiftOut:
    """A new shift pattern of a plant (supervisors, heads of operations, admins); a refused value is the contract's
    validation failure naming its field."""
    with field_errors():
        return ShiftOut.model_validate(shifts.create_shift(session, user.id, body.model_dump()), from_attributes=True)
