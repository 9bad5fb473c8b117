"""The ERP's genealogy and trace (manufacturing-erp.md §6.9): `GET /api/v1/traceability/forward` (a lot or a serial
→ the work orders it went into and their customers) and `/backward` (a serial → its work order, the lots and
sub-assemblies it is made of at any depth, the operations logged), each answered by one recursive query and a
bounded number of follow-ups; and what they follow, `POST /api/v1/work-orders/{id}/material-consumption` (an
addition). Services: services/mes/traceability.py, consumption.py."""

from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, require
from api.mes.traceability_schemas import (
    BackwardOut,
    ConsumptionCreate,
    ConsumptionOut,
    ForwardOut,
    LotNumber,
    SerialNumber,
    backward_out,
    consumption_out,
    forward_out,
)
from core.permissions import Perm
from services.identity import Principal
from services.mes import consumption, traceability

router = dialect_router(Dialect.ERP, prefix="/api/v1", tags=["erp: traceability"])
Viewer = require(Perm.VIEW_EQUIPMENT)


@router.post("/work-orders/{work_order_id}/material-consumption", status_code=201)
def consume(work_order_id: DbId, body: ConsumptionCreate, session: SessionDep,
            user: Principal = require(Perm.RECORD_CONSUMPTION)) -> ConsumptionOut:
    """A lot's quantity or one sub-assembly (by serial, made by another work order) used by an in-progress or
    completed work order."""
    with field_errors():
        return consumption_out(consumption.record(session, user.id, work_order_id, body.model_dump()))


@router.get("/traceability/forward", dependencies=[Viewer])
def forward(session: SessionDep, lot_number: Annotated[LotNumber | None, Query()] = None,
            serial_number: Annotated[SerialNumber | None, Query()] = None) -> ForwardOut:
    """Where a lot or a serial went: every affected work order at any depth, its serials, shipments, customers."""
    if (lot_number is None) == (serial_number is None):
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "lot_number"),
                                       "msg": "give either lot_number or serial_number"}])
    if lot_number is not None:
        return forward_out(traceability.forward_from_lot(session, lot_number))
    return forward_out(traceability.forward_from_serial(session, str(serial_number)))


@router.get("/traceability/backward", dependencies=[Viewer])
def backward(serial_number: Annotated[SerialNumber, Query()], session: SessionDep) -> BackwardOut:
    """What a unit is made of, at any depth, and the operations that made it."""
    return backward_out(traceability.backward(session, serial_number))
