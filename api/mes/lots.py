"""`/api/v1/lot-numbers` (manufacturing-erp.md §6.9: the create is the contract's, the read an addition): a material's
received lot and its number. Services: services/mes/lots.py."""

from typing import Annotated

from fastapi import Depends, Path

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.deps import CurrentUser, SessionDep, require
from api.mes.traceability_schemas import LotCreate, LotNumber, LotOut, lot_out
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services.identity import Principal
from services.mes import lots

router = dialect_router(Dialect.ERP, prefix="/api/v1/lot-numbers", tags=["erp: traceability"])
READERS = (Perm.VIEW_EQUIPMENT, Perm.MANAGE_LOTS)


async def lot_reader(user: CurrentUser) -> Principal:
    """Those who see traceability, and those who receive lots (a store clerk reads back the lot they received)."""
    if not any(has_permission(user.role, perm, user.is_superuser) for perm in READERS):
        raise access_denied(f"Requires permission {READERS[0].value} or {READERS[1].value}")
    return user


@router.post("", status_code=201)
def create_lot(body: LotCreate, session: SessionDep, user: Principal = require(Perm.MANAGE_LOTS)) -> LotOut:
    """Receive a lot: `{material code without separators}-{YYYYMMDD}-{NNN}`, counted per material and day."""
    with field_errors():
        return lot_out(lots.create_lot(session, user.id, body.model_dump()))


@router.get("/{lot_number}", dependencies=[Depends(lot_reader)])
def get_lot(lot_number: Annotated[LotNumber, Path()], session: SessionDep) -> LotOut:
    return lot_out(lots.get_lot(session, lot_number))
