"""Stock contract (multi-location-stock.md §6), items: the one item master as the stock contract sees it.
Everyone signed in reads; creating, changing, deleting and pricing items is ADMIN only. With `locationId`
each listed item carries that location's stock (an OPERATOR only at a location assigned to them)."""

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import AliasChoices, Field, StringConstraints

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep
from api.stock.common import PageDep, StockBody, number, stock_router, with_total
from api.stock.roles import StockAdmin
from api.stock.schemas.catalog import (
    ItemListOut,
    ItemOut,
    ItemPriceOut,
    Price,
    deleted,
    item_out,
    period_ref,
)
from api.stock.schemas.documents import StockDeletedOut
from core.timeutil import iso_z
from services.stock import items as stock_items
from services.stock.access import accessible_location
from services.stock.items import ItemFilters
from services.stock.views import item_ref

router = stock_router(tags=["stock: items"])

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
CategoryCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
SubCategory = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class ItemCreate(StockBody):
    code: Code
    name: Name
    unit: Unit
    category: CategoryCode
    sub_category: SubCategory | None = None


class ItemUpdate(StockBody):
    code: Code | None = None
    name: Name | None = None
    unit: Unit | None = None
    category: CategoryCode | None = None
    sub_category: SubCategory | None = None
    is_active: bool | None = None


class ItemPrice(StockBody):
    price: Price
    period_id: str = Field(validation_alias=AliasChoices("periodId", "period_id"))


@router.get("/items", response_model=ItemListOut)
def list_items(session: SessionDep, user: CurrentUser, page: PageDep, response: Response,
               category: Annotated[SafeStr | None, Query(max_length=50)] = None, active: bool | None = None,
               search: Annotated[SafeStr | None, Query(max_length=200)] = None,
               location_id: Annotated[SafeStr | None, Query(alias="locationId")] = None) -> Any:
    location = accessible_location(session, user, location_id) if location_id else None
    rows, total = stock_items.list_items(session, page.offset, page.limit, ItemFilters(category, active, search),
                                         location.id if location is not None else None)
    with_total(response, total)
    return [item_out(row, with_stock=location is not None) for row in rows]


@router.post("/items", response_model=ItemOut)
def create_item(body: ItemCreate, session: SessionDep, user: StockAdmin) -> Any:
    return item_out(stock_items.create_item(session, user.id, body.model_dump()))


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: SafeStr, session: SessionDep, user: CurrentUser) -> Any:
    return item_out(stock_items.get_item(session, item_id))


@router.patch("/items/{item_id}", response_model=ItemOut)
def update_item(item_id: SafeStr, body: ItemUpdate, session: SessionDep, user: StockAdmin) -> Any:
    return item_out(stock_items.update_item(session, user.id, item_id, body.model_dump(exclude_unset=True)))


@router.delete("/items/{item_id}", response_model=StockDeletedOut)
def delete_item(item_id: SafeStr, session: SessionDep, user: StockAdmin) -> Any:
    stock_items.delete_item(session, user.id, item_id)
    return deleted("Item", item_id)


@router.patch("/items/{item_id}/price", response_model=ItemPriceOut)
def set_item_price(item_id: SafeStr, body: ItemPrice, session: SessionDep, user: StockAdmin) -> Any:
    """The item's price in one period (not a CLOSED one: its prices are frozen)."""
    period, row = stock_items.set_item_price(session, user.id, item_id, body.period_id, body.price)
    return {"item": item_ref(row.item), "period": period_ref(period), "price": number(row.price),
            "updated_at": iso_z(row.updated_at)}
