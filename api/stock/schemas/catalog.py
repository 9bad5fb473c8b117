"""Bodies of stock items and suppliers (multi-location-stock.md §6, §7): ids are `uid`s, numbers JSON
numbers, times UTC with `Z`."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.stock.common import number
from api.stock.schemas.documents import IsoTime
from api.stock.schemas.refs import ItemRef
from core.timeutil import iso_z
from models.catalog import Supplier
from models.stock import LocationStock, Period
from services.stock.items import ACTIVE, ItemRow
from services.stock.ledger import money
from services.stock.periods.prices import PriceRow
from services.stock.views import item_ref

Price = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"))]  # a period price (Numeric(16,4))


class ItemOut(BaseModel):
    id: str
    code: str
    name: str
    unit: str
    category: str | None
    sub_category: str | None
    is_active: bool
    created_at: IsoTime
    updated_at: IsoTime


class ItemStockOut(ItemOut):
    """An item with one location's stock (`GET /items?locationId=`); an item never stocked there shows zero
    and no levels."""

    on_hand: float
    wac: float
    value: float
    min_stock: float | None
    max_stock: float | None
    is_low_stock: bool


# `GET /items`: with `locationId` every item carries that location's stock, without it none does.
ItemListOut = Annotated[list[ItemStockOut] | list[ItemOut], Field(union_mode="left_to_right")]


class PeriodRef(BaseModel):
    id: str
    name: str
    status: str


class PriceOut(BaseModel):
    """An item's price in a period."""

    item_id: str
    item: ItemRef
    price: float
    updated_at: IsoTime


class ItemPriceOut(BaseModel):
    item: ItemRef
    period: PeriodRef
    price: float
    updated_at: IsoTime


class PricesSetOut(BaseModel):
    period: PeriodRef
    updated: int
    prices: list[PriceOut]


class PricesCopiedOut(BaseModel):
    """The previous period's prices copied in; `skipped` the items this period already had a price for."""

    period: PeriodRef
    source_period: PeriodRef
    copied: int
    skipped: int


class StockSupplierOut(BaseModel):
    id: str
    code: str
    name: str
    contact_person: str | None
    phone: str | None
    email: str | None
    is_active: bool
    created_at: IsoTime
    updated_at: IsoTime


def _stock_fields(stock: LocationStock | None) -> dict[str, Any]:
    """One location's stock of the item; an item never stocked there has none of it and no levels."""
    on_hand = stock.on_hand if stock is not None else Decimal(0)
    wac = stock.wac if stock is not None else Decimal(0)
    min_stock = stock.min_stock if stock is not None else None
    return {"on_hand": number(on_hand), "wac": number(wac), "value": number(money(on_hand * wac)),
            "min_stock": number(min_stock), "max_stock": number(stock.max_stock if stock is not None else None),
            "is_low_stock": min_stock is not None and on_hand < min_stock}


def item_out(row: ItemRow, with_stock: bool = False) -> dict[str, Any]:
    item = row.item
    body = {"id": str(item.uid), "code": item.code, "name": item.name, "unit": item.unit_of_measure,
            "category": row.category.code if row.category is not None else None,
            "sub_category": item.sub_category, "is_active": item.status == ACTIVE,
            "created_at": iso_z(item.created_at), "updated_at": iso_z(item.updated_at)}
    return {**body, **_stock_fields(row.stock)} if with_stock else body


def period_ref(period: Period) -> dict[str, Any]:
    return {"id": str(period.uid), "name": period.name, "status": period.status}


def price_out(row: PriceRow) -> dict[str, Any]:
    return {"item_id": str(row.item.uid), "item": item_ref(row.item), "price": number(row.price),
            "updated_at": iso_z(row.updated_at)}


def supplier_out(supplier: Supplier) -> dict[str, Any]:
    return {"id": str(supplier.uid), "code": supplier.code, "name": supplier.name,
            "contact_person": supplier.contact_name, "phone": supplier.contact_phone,
            "email": supplier.contact_email, "is_active": supplier.status == ACTIVE,
            "created_at": iso_z(supplier.created_at), "updated_at": iso_z(supplier.updated_at)}


def deleted(entity: str, uid: str) -> dict[str, Any]:
    return {"success": True, "message": f"{entity} deleted", "id": uid}
