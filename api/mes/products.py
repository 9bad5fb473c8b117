"""`/api/v1/products` (an addition the ERP contract's work orders need): a product with its bill of materials
over the one item master and its routing. Services: services/mes/products.py."""

from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, require
from api.mes.schemas import ProductCreate, ProductListOut, ProductOut, product_out
from core.permissions import Perm
from services.identity import Principal
from services.mes import products

router = dialect_router(Dialect.ERP, prefix="/api/v1/products", tags=["erp: products"])


@router.get("", dependencies=[require(Perm.VIEW_PRODUCTS)])
def list_products(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                  search: SafeStr | None = Query(None, max_length=200)) -> ProductListOut:
    rows, total = products.list_products(session, paging.offset, paging.per_page, search)
    return ProductListOut(products=[product_out(p) for p in rows], total=total, page=paging.page,
                          per_page=paging.per_page)


@router.post("", status_code=201)
def create_product(body: ProductCreate, session: SessionDep,
                   user: Principal = require(Perm.MANAGE_PRODUCTS)) -> ProductOut:
    with field_errors():
        return product_out(products.create_product(session, user.id, body.model_dump()))


@router.get("/{product_id}", dependencies=[require(Perm.VIEW_PRODUCTS)])
def get_product(product_id: DbId, session: SessionDep) -> ProductOut:
    return product_out(products.get_product(session, product_id))
