"""Consolidated stock (stock contract §5): every item's stock across the active locations, a page of items
with each location's row, and totals over all the filtered rows. A handful of aggregate queries whatever the
number of items or locations (never one per item):

    1. the page of items (by item code: the index on `materials.code` with a semi-join on the stock rows);
    2. the location rows of the page's items (the items' totals are their sums);
    3. per location: value and item count over all the filtered rows (grand total = their sum);
    4. how many items the filters keep.

A row's value is `on_hand × wac` rounded half-up to cents in SQL (PostgreSQL's numeric `round`), and every
total is a sum of rounded row values, so the totals always add up to what the rows show. An item is low at a
location when the location sets a `min_stock` and holds less; `lowStock=true` keeps the items low at any
location (with all their locations). Values are Decimals; the API renders them. Never commits."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from models.catalog import Material, MaterialCategory
from models.stock import Location, LocationStock

ZERO = Decimal(0)


@dataclass(frozen=True)
class StockFilters:
    category: str | None = None
    low_stock: bool = False


def row_value() -> ColumnElement[Any]:
    """`round(on_hand × wac, 2)`, stored on the row (a generated column)."""
    return LocationStock.value.expression


def is_low() -> ColumnElement[bool]:
    return and_(LocationStock.min_stock.is_not(None), LocationStock.on_hand < LocationStock.min_stock)


def low_stock(on_hand: Decimal, min_stock: Decimal | None) -> bool:
    return min_stock is not None and on_hand < min_stock


def _active_rows(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The item has a stock row at an active location (meeting `conditions`)."""
    return exists(select(LocationStock.id).join(Location, Location.id == LocationStock.location_id)
                  .where(LocationStock.item_id == Material.id, Location.is_active.is_(True), *conditions))


def _item_conditions(filters: StockFilters) -> list[ColumnElement[bool]]:
    conditions = [_active_rows()]
    if filters.category:
        conditions.append(func.lower(MaterialCategory.code) == filters.category.strip().lower())
    if filters.low_stock:
        conditions.append(_active_rows(is_low()))
    return conditions


def _row_conditions(filters: StockFilters) -> list[ColumnElement[bool]]:
    """The filters on stock rows (for the location totals): the item's category, the item low somewhere."""
    conditions: list[ColumnElement[bool]] = []
    if filters.category:
        conditions.append(LocationStock.item_id.in_(
            select(Material.id).join(MaterialCategory, MaterialCategory.id == Material.category_id)
            .where(func.lower(MaterialCategory.code) == filters.category.strip().lower())))
    if filters.low_stock:
        low, where = aliased(LocationStock), aliased(Location)  # aliases: never correlated to the outer rows
        conditions.append(LocationStock.item_id.in_(
            select(low.item_id).join(where, where.id == low.location_id)
            .where(where.is_active.is_(True), low.min_stock.is_not(None), low.on_hand < low.min_stock)))
    return conditions


def _items(*columns: Any) -> Select[Any]:
    return select(*columns).select_from(Material).outerjoin(MaterialCategory,
                                                            MaterialCategory.id == Material.category_id)


def consolidated_stock(session: Session, filters: StockFilters, offset: int, limit: int) -> dict[str, Any]:
    conditions = _item_conditions(filters)
    page = session.execute(
        _items(Material.id, Material.uid, Material.code, Material.name, Material.unit_of_measure,
               MaterialCategory.code).where(*conditions)
        .order_by(Material.code, Material.id).offset(offset).limit(limit)).all()
    by_item = _location_rows(session, [row[0] for row in page])
    items = []
    for item_id, uid, code, name, unit, category in page:
        rows = by_item.get(item_id, [])
        items.append({"item_id": str(uid), "item_code": code, "item_name": name, "item_unit": unit,
                      "item_category": category, "total_on_hand": sum((r["on_hand"] for r in rows), ZERO),
                      "total_value": sum((r["value"] for r in rows), ZERO), "locations": rows})
    totals = session.execute(
        select(Location.uid, Location.code, Location.name, func.coalesce(func.sum(row_value()), 0), func.count())
        .join(LocationStock, LocationStock.location_id == Location.id)
        .where(Location.is_active.is_(True), *_row_conditions(filters))
        .group_by(Location.id).order_by(Location.code)).all()
    location_totals = [{"location_id": str(uid), "location_code": code, "location_name": name,
                        "total_value": value, "item_count": count} for uid, code, name, value, count in totals]
    total_items = session.scalar(_items(func.count()).where(*conditions)) or 0
    return {"consolidated_stock": items, "location_totals": location_totals,
            "grand_total_value": sum((row["total_value"] for row in location_totals), ZERO),
            "total_items": int(total_items), "total_locations": len(location_totals)}


def _location_rows(session: Session, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each item's row at every active location holding one, by location code."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(LocationStock.item_id, Location.uid, Location.code, Location.name, LocationStock.on_hand,
               LocationStock.wac, row_value(), LocationStock.min_stock, LocationStock.max_stock)
        .join(Location, Location.id == LocationStock.location_id)
        .where(LocationStock.item_id.in_(item_ids), Location.is_active.is_(True))
        .order_by(Location.code, Location.id)).all()
    by_item: dict[int, list[dict[str, Any]]] = {}
    for item_id, uid, code, name, on_hand, wac, value, min_stock, max_stock in rows:
        by_item.setdefault(item_id, []).append({
            "location_id": str(uid), "location_code": code, "location_name": name, "on_hand": on_hand,
            "wac": wac, "value": value, "min_stock": min_stock, "max_stock": max_stock,
            "is_low_stock": low_stock(on_hand, min_stock)})
    return by_item


def stock_value_by_location(session: Session, location_ids: list[int]) -> dict[int, Decimal]:
    """The current stock value of each location (one grouped query)."""
    if not location_ids:
        return {}
    rows = session.execute(select(LocationStock.location_id, func.coalesce(func.sum(row_value()), 0))
                           .where(LocationStock.location_id.in_(location_ids))
                           .group_by(LocationStock.location_id)).all()
    return {location_id: Decimal(value) for location_id, value in rows}
