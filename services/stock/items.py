"""Stock items: the one item master (`materials`) as the stock contract sees it. `code` is the material's
code, `unit` its unit of measure, `category` a material category by code (created on first use),
`is_active` its status (`active`; a deactivated item is `discontinued`, a status the materials contract
knows). Optionally with one location's stock of each item. Deleting an item that stock, documents, orders
or a bill of materials use is refused (ITEM_IN_USE, the stock dialect's 400 INVALID_STATUS; nothing
removed); its prices in periods not yet closed go with it. Never commits."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from models.catalog import Material, MaterialCategory, MaterialCertification, PartMaterial, SupplierMaterial
from models.procurement import Inventory, PurchaseOrderLine
from models.quality import NonConformance
from models.stock import (
    DeliveryLine,
    LocationStock,
    NcrLine,
    Period,
    PeriodClosingStock,
    PeriodPrice,
    StockIssueLine,
    StockMovement,
    TransferLine,
)
from services import audit
from services.catalog import master_data as catalog
from services.stock.periods.prices import PriceRow, set_prices
from services.stock.records import by_uid, duplicate_entry, in_use

ACTIVE, INACTIVE = "active", "discontinued"  # the material statuses of the aerospace contract
# Records that keep an item alive: stock, the ledger, documents, orders, the BOM, catalogues.
ITEM_USERS: tuple[tuple[str, InstrumentedAttribute[int] | InstrumentedAttribute[int | None]], ...] = (
    ("location_stock", LocationStock.item_id), ("stock_movements", StockMovement.item_id),
    ("delivery_lines", DeliveryLine.item_id), ("stock_issue_lines", StockIssueLine.item_id),
    ("transfer_lines", TransferLine.item_id), ("ncr_lines", NcrLine.item_id),
    ("period_closing_stock", PeriodClosingStock.item_id), ("purchase_order_lines", PurchaseOrderLine.material_id),
    ("non_conformances", NonConformance.material_id), ("inventory", Inventory.material_id),
    ("part_materials", PartMaterial.material_id), ("supplier_materials", SupplierMaterial.material_id),
    ("material_certifications", MaterialCertification.material_id),
)


@dataclass(frozen=True)
class ItemFilters:
    category: str | None = None
    active: bool | None = None
    search: str | None = None


@dataclass(frozen=True)
class ItemRow:
    item: Material
    category: MaterialCategory | None
    stock: LocationStock | None = None


def _items(location_id: int | None) -> Select[*tuple[Any, ...]]:
    query = select(Material, MaterialCategory).outerjoin(MaterialCategory, MaterialCategory.id == Material.category_id)
    if location_id is None:
        return query
    return query.add_columns(LocationStock).outerjoin(
        LocationStock, (LocationStock.item_id == Material.id) & (LocationStock.location_id == location_id))


def _conditions(filters: ItemFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.category:
        conditions.append(func.lower(MaterialCategory.code) == filters.category.strip().lower())
    if filters.active is not None:
        conditions.append(Material.status == ACTIVE if filters.active else Material.status != ACTIVE)
    if filters.search:
        conditions.append(catalog.contains(filters.search, Material.name, Material.code))
    return conditions


def list_items(session: Session, offset: int, limit: int, filters: ItemFilters,
               location_id: int | None = None) -> tuple[list[ItemRow], int]:
    """Items by code; with `location_id`, each with that location's stock row (None when it has none)."""
    query = _items(location_id).where(*_conditions(filters))
    rows = session.execute(query.order_by(Material.code, Material.id).offset(offset).limit(limit))
    total = catalog.count(session, select(Material.id).outerjoin(MaterialCategory, MaterialCategory.id ==
                                                                 Material.category_id).where(*_conditions(filters)))
    return [ItemRow(*row) for row in rows], total


def get_item(session: Session, item_uid: str | uuid.UUID) -> ItemRow:
    item = by_uid(session, Material, item_uid, "Item")
    category = session.get(MaterialCategory, item.category_id) if item.category_id else None
    return ItemRow(item, category)


def category_for(session: Session, actor_id: int, code: str) -> MaterialCategory:
    """The material category with this code (any case), created on first use."""
    code = code.strip()
    found = session.scalars(select(MaterialCategory).where(func.lower(MaterialCategory.code) == code.lower())
                            .order_by(MaterialCategory.id).limit(1)).first()
    if found is not None:
        return found
    created_id = session.scalar(insert(MaterialCategory).values(uid=uuid.uuid4(), code=code, name=code.title())
                                .on_conflict_do_nothing(index_elements=["code"]).returning(MaterialCategory.id))
    category = session.scalars(select(MaterialCategory).where(MaterialCategory.code == code)).one()
    if created_id is not None:
        catalog.record_created(session, actor_id, category, "material_category", "CATEGORY_CREATED")
    return category


def _columns(session: Session, actor_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The stock body's fields as material columns."""
    columns = {k: v for k, v in values.items() if k in ("code", "name", "sub_category")}
    if values.get("unit") is not None:
        columns["unit_of_measure"] = values["unit"]
    if "category" in values:
        category = values["category"]
        columns["category_id"] = category_for(session, actor_id, category).id if category else None
    if values.get("is_active") is not None:
        columns["status"] = ACTIVE if values["is_active"] else INACTIVE
    return columns


def _code_taken(code: object) -> Any:
    return duplicate_entry("Item code", "code", code)


def create_item(session: Session, actor_id: int, values: dict[str, Any]) -> ItemRow:
    if catalog.taken(session, Material.code, values["code"]):
        raise _code_taken(values["code"])
    columns = {"status": ACTIVE, "material_type": "other", **_columns(session, actor_id, values)}
    item = catalog.insert(session, Material(**columns), _code_taken(values["code"]))
    catalog.record_created(session, actor_id, item, "material", "ITEM_CREATED")
    return get_item(session, item.uid)


def update_item(session: Session, actor_id: int, item_uid: str, values: dict[str, Any]) -> ItemRow:
    item = by_uid(session, Material, item_uid, "Item", lock=True)
    changes = {k: v for k, v in catalog.settable(item, _columns(session, actor_id, values)).items()
               if getattr(item, k) != v}
    code = changes.get("code")
    if code is not None and catalog.taken(session, Material.code, code, exclude_id=item.id):
        raise _code_taken(code)
    if changes:
        catalog.apply_update(session, actor_id, item, changes, "material", "ITEM_UPDATED", _code_taken(code))
    return get_item(session, item.uid)


def _users_of(session: Session, item_id: int) -> list[str]:
    used_by = [table for table, column in ITEM_USERS if catalog.taken(session, column, item_id)]
    closed_price = session.scalar(select(PeriodPrice.id).join(Period, Period.id == PeriodPrice.period_id)
                                  .where(PeriodPrice.item_id == item_id, Period.status == "CLOSED").limit(1))
    return used_by + (["period_prices (closed periods)"] if closed_price is not None else [])


def delete_item(session: Session, actor_id: int, item_uid: str) -> None:
    item = by_uid(session, Material, item_uid, "Item", lock=True)
    used_by = _users_of(session, item.id)
    if used_by:
        raise in_use("ITEM_IN_USE", "Item", item.code, used_by)
    snapshot = catalog.columns_of(item)
    snapshot["period_prices_removed"] = session.execute(
        delete(PeriodPrice).where(PeriodPrice.item_id == item.id)).rowcount  # type: ignore[attr-defined]
    catalog.delete(session, item, lambda table: in_use("ITEM_IN_USE", "Item", snapshot["code"], [table]))
    audit.record(session, actor_id=actor_id, entity_type="material", entity_id=snapshot["id"],
                 action_type="ITEM_DELETED", payload_diff=audit.diff(snapshot, {}))


def set_item_price(session: Session, actor_id: int, item_uid: str, period_uid: str,
                   price: Decimal) -> tuple[Period, PriceRow]:
    item = by_uid(session, Material, item_uid, "Item")
    period, rows = set_prices(session, actor_id, period_uid, [(str(item.uid), price)])
    return period, rows[0]
