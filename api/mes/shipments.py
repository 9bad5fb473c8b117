"""`/api/v1/shipments` (an addition the ERP contract's forward trace and recalls need): serials and/or a quantity of
a work order's output sent to a customer, `SHIP-YYYY-NNN`. Services: services/mes/shipments.py."""

from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, require
from api.mes.traceability_schemas import ShipmentCreate, ShipmentListOut, ShipmentOut, shipment_out
from core.permissions import Perm
from services.identity import Principal
from services.mes import shipments

router = dialect_router(Dialect.ERP, prefix="/api/v1/shipments", tags=["erp: traceability"])
Viewer = require(Perm.VIEW_EQUIPMENT)


@router.post("", status_code=201)
def create_shipment(body: ShipmentCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_SHIPMENTS)) -> ShipmentOut:
    """Ship serials and/or a quantity of one work order's completed units to a customer."""
    with field_errors():
        return shipment_out(shipments.create_shipment(session, user.id, body.model_dump()))


@router.get("", dependencies=[Viewer])
def list_shipments(session: SessionDep, paging: Annotated[ErpPaging, Depends()], customer_id: DbId | None = None,
                   search: SafeStr | None = Query(None, max_length=200)) -> ShipmentListOut:
    """Newest first; by customer, or a shipment number containing `search`."""
    rows, total = shipments.list_shipments(session, paging.offset, paging.per_page, customer_id, search)
    return ShipmentListOut(shipments=[shipment_out(s) for s in rows], total=total, page=paging.page,
                           per_page=paging.per_page)


@router.get("/{shipment_id}", dependencies=[Viewer])
def get_shipment(shipment_id: DbId, session: SessionDep) -> ShipmentOut:
    return shipment_out(shipments.get_shipment(session, shipment_id))
