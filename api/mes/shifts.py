"""`/api/v1/shifts` (manufacturing-erp.md §6.6: the list; the create is an addition) and `/api/v1/shift-performance`
(§6.6): a plant's shift patterns, and one shift's output, OEE and comparisons on a date. Services:
services/mes/shifts.py, shift_performance.py."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, require
from api.mes.equipment_schemas import ShiftCreate, ShiftListOut, ShiftMetricsOut, ShiftOut, ShiftPerformanceOut
from core.permissions import Perm
from core.timeutil import utcnow
from services.identity import Principal
from services.mes import shifts
from services.mes.shift_performance import shift_performance

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


@router.get("/shift-performance", dependencies=[Viewer])
def get_shift_performance(session: SessionDep, shift_id: DbId,
                          day: Annotated[date, Query(alias="date")]) -> ShiftPerformanceOut:
    """The shift's output, OEE, downtime and first-pass yield on `date`, and how its output compares with its own
    last 7 days and with the plant's other shifts that day (formulas: services/mes/shift_performance.py)."""
    with field_errors():
        found = shift_performance(session, shift_id, day, utcnow())
    return ShiftPerformanceOut(
        shift_id=found.shift.id, shift_name=found.shift.name, date=found.day,
        metrics=ShiftMetricsOut(target_units=found.shift.production_target_units, actual_units=found.actual_units,
                                target_attainment_percent=found.attainment_percent, oee_percent=found.oee_percent,
                                downtime_minutes=found.downtime_minutes, quality_fpy_percent=found.fpy_percent),
        comparison=found.comparison)
