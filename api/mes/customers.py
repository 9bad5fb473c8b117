"""`/api/v1/customers` (an addition the ERP contract's shipments and recalls need): who finished goods go to and
whom a recall notifies. Services: services/mes/customers.py."""

from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, require
from api.mes.traceability_schemas import CustomerCreate, CustomerListOut, CustomerOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import customers

router = dialect_router(Dialect.ERP, prefix="/api/v1/customers", tags=["erp: traceability"])
Viewer = require(Perm.VIEW_EQUIPMENT)


@router.post("", status_code=201)
def create_customer(body: CustomerCreate, session: SessionDep,
                    user: Principal = require(Perm.MANAGE_SHIPMENTS)) -> CustomerOut:
    return CustomerOut.model_validate(customers.create_customer(session, user.id, body.model_dump()),
                                      from_attributes=True)


@router.get("", dependencies=[Viewer])
def list_customers(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                   search: SafeStr | None = Query(None, max_length=200)) -> CustomerListOut:
    rows, total = customers.list_customers(session, paging.offset, paging.per_page, search)
    return CustomerListOut(customers=[CustomerOut.model_validate(c, from_attributes=True) for c in rows], total=total,
                           page=paging.page, per_page=paging.per_page)


@router.get("/{customer_id}", dependencies=[Viewer])
def get_customer(customer_id: DbId, session: SessionDep) -> CustomerOut:
    return CustomerOut.model_validate(customers.get_customer(session, customer_id), from_attributes=True)
