"""Stock contract (multi-location-stock.md §7), suppliers: the one supplier table. Everyone signed in
reads; SUPERVISOR and ADMIN create, change and delete (the contract names no role; suppliers are master
data its operators post against, not manage)."""

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import EmailStr, StringConstraints

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep
from api.stock.common import PageDep, StockBody, stock_router, with_total
from api.stock.roles import StockSupervisor
from api.stock.schemas.catalog import StockSupplierOut, deleted, supplier_out
from api.stock.schemas.documents import StockDeletedOut
from services.stock import suppliers as stock_suppliers

router = stock_router(tags=["stock: suppliers"])

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]


class StockSupplierCreate(StockBody):
    code: Code
    name: Name
    contact_person: Contact | None = None
    phone: Phone | None = None
    email: EmailStr | None = None


class StockSupplierUpdate(StockBody):
    code: Code | None = None
    name: Name | None = None
    contact_person: Contact | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    is_active: bool | None = None


@router.get("/suppliers", response_model=list[StockSupplierOut])
def list_suppliers(session: SessionDep, user: CurrentUser, page: PageDep, response: Response,
                   search: Annotated[SafeStr | None, Query(max_length=200)] = None, active: bool | None = None) -> Any:
    rows, total = stock_suppliers.list_suppliers(session, page.offset, page.limit, search, active)
    with_total(response, total)
    return [supplier_out(supplier) for supplier in rows]


@router.post("/suppliers", response_model=StockSupplierOut)
def create_supplier(body: StockSupplierCreate, session: SessionDep, user: StockSupervisor) -> Any:
    return supplier_out(stock_suppliers.create_supplier(session, user.id, body.model_dump()))


@router.get("/suppliers/{supplier_id}", response_model=StockSupplierOut)
def get_supplier(supplier_id: SafeStr, session: SessionDep, user: CurrentUser) -> Any:
    return supplier_out(stock_suppliers.get_supplier(session, supplier_id))


@router.patch("/suppliers/{supplier_id}", response_model=StockSupplierOut)
def update_supplier(supplier_id: SafeStr, body: StockSupplierUpdate, session: SessionDep, user: StockSupervisor) -> Any:
    values = body.model_dump(exclude_unset=True)
    return supplier_out(stock_suppliers.update_supplier(session, user.id, supplier_id, values))


@router.delete("/suppliers/{supplier_id}", response_model=StockDeletedOut)
def delete_supplier(supplier_id: SafeStr, session: SessionDep, user: StockSupervisor) -> Any:
    stock_suppliers.delete_supplier(session, user.id, supplier_id)
    return deleted("Supplier", supplier_id)
