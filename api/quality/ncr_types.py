"""`/api/v1/ncr-types` (an addition the ERP contract's NCR reports need): the kinds of non-conformance an inspector
picks (`ncr_type_id`); quality managers add them. Services: services/quality/ncr_types.py."""

from typing import Annotated

from fastapi import Depends

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.deps import SessionDep, require
from api.quality.schemas import NcrTypeCreate, NcrTypeListOut, NcrTypeOut
from core.permissions import Perm
from services.identity import Principal
from services.quality import ncr_types

router = dialect_router(Dialect.ERP, prefix="/api/v1/ncr-types", tags=["erp: ncr reports"])


@router.get("", dependencies=[require(Perm.VIEW_NCR_REPORTS)])
def list_ncr_types(session: SessionDep, paging: Annotated[ErpPaging, Depends()]) -> NcrTypeListOut:
    rows, total = ncr_types.list_types(session, paging.offset, paging.per_page)
    return NcrTypeListOut(ncr_types=[NcrTypeOut.model_validate(row) for row in rows], total=total, page=paging.page,
                          per_page=paging.per_page)


@router.post("", status_code=201)
def create_ncr_type(body: NcrTypeCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_NCR_TYPES)) -> NcrTypeOut:
    """A new NCR type; a name already taken (any case) is the contract's validation failure on `name`."""
    with field_errors():
        return NcrTypeOut.model_validate(ncr_types.create_type(session, user.id, body.name, body.description))
