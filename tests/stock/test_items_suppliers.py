"""Stock items and suppliers (multi-location-stock.md §6, §7): the contract's examples as written, the item
master they share with /api/v1, filters and pagination, one location's stock per item, item prices, deletes
refused while in use, every error code, the role matrix and the audit rows."""

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from models.audit import AuditEntry
from models.catalog import Material, MaterialCategory, Supplier
from models.stock import Delivery, LocationStock, Period, PeriodPrice
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import assign, seed_item, seed_location, seed_period, seed_supplier

ITEM_FIELDS = {"id", "code", "name", "unit", "category", "sub_category", "is_active", "created_at", "updated_at"}
STOCK_FIELDS = {"on_hand", "wac", "value", "min_stock", "max_stock", "is_low_stock"}
SUPPLIER_FIELDS = {"id", "code", "name", "contact_person", "phone", "email", "is_active", "created_at", "updated_at"}
MISSING = str(uuid.uuid4())

# --- helpers (also used by test_periods.py and test_pob.py) -----------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage", "data"} and body["statusCode"] == status, body
    assert body["data"]["code"] == code, body
    return dict(body["data"])


def invalid_paths(response: httpx.Response) -> list[list[Any]]:
    """The paths a 400 VALIDATION_ERROR names."""
    return [detail["path"] for detail in error_of(response, 400, "VALIDATION_ERROR")["details"]]


def audit_actions(factory: Any, entity_type: str, entity_id: int) -> list[str]:
    with session_scope(factory) as session:
        return list(session.scalars(select(AuditEntry.action_type).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id)))


def row_of(factory: Any, model: type[Any], uid: str) -> Any:
    with session_scope(factory) as session:
        row = session.scalars(select(model).where(model.uid == uuid.UUID(uid))).first()
        if row is not None:
            session.expunge(row)
        return row


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


@pytest.fixture(scope="module")
async def operator(make_user: MakeUser) -> AppUser:
    return await make_user("OPERATOR")


def chicken(**fields: Any) -> dict[str, Any]:
    return {"code": unique("PRO-001"), "name": "Chicken Breast", "unit": "KG", "category": "PROTEINS",
            "sub_category": "Poultry", **fields}


async def new_item(api: httpx.AsyncClient, admin: AppUser, **fields: Any) -> dict[str, Any]:
    return ok(await api.post("/api/items", json=chicken(**fields), headers=admin.headers))


# --- items ------------------------------------------------------------------------------------------------

async def test_create_item_as_the_contract_shows(api, admin, session_factory):
    body = chicken()
    item = await new_item(api, admin, **body)
    assert set(item) == ITEM_FIELDS
    assert item["code"] == body["code"] and item["name"] == "Chicken Breast" and item["unit"] == "KG"
    assert item["category"] == "PROTEINS" and item["sub_category"] == "Poultry" and item["is_active"] is True
    assert item["created_at"].endswith("Z") and uuid.UUID(item["id"])
    material = row_of(session_factory, Material, item["id"])
    assert (material.code, material.unit_of_measure, material.status) == (body["code"], "KG", "active")
    assert ok(await api.get(f"/api/items/{item['id']}", headers=admin.headers)) == item
    assert audit_actions(session_factory, "material", material.id) == ["ITEM_CREATED"]
    v1 = ok(await api.get(f"/api/v1/materials/{material.id}", headers=admin.headers))  # one item master
    assert v1["name"] == "Chicken Breast"


async def test_a_new_category_is_created_on_first_use(api, admin, session_factory):
    category = unique("CAT").upper()
    first = await new_item(api, admin, category=category)
    second = await new_item(api, admin, category=category.lower())  # the same category, any case
    assert first["category"] == second["category"] == category
    with session_scope(session_factory) as session:
        assert len(session.scalars(select(MaterialCategory).where(MaterialCategory.code == category)).all()) == 1


async def test_item_code_is_unique(api, admin):
    item = await new_item(api, admin)
    response = await api.post("/api/items", json=chicken(code=item["code"]), headers=admin.headers)
    assert error_of(response, 409, "DUPLICATE_ENTRY")["details"]["field"] == "code"
    other = await new_item(api, admin)
    response = await api.patch(f"/api/items/{other['id']}", json={"code": item["code"]}, headers=admin.headers)
    error_of(response, 409, "DUPLICATE_ENTRY")


async def test_item_validation_names_the_fields(api, admin):
    response = await api.post("/api/items", json={"code": " ", "unit": "KG", "category": "X"}, headers=admin.headers)
    assert sorted(invalid_paths(response)) == [["code"], ["name"]]
    response = await api.patch(f"/api/items/{MISSING}", json={"is_active": "maybe"}, headers=admin.headers)
    assert invalid_paths(response) == [["is_active"]]


async def test_only_admin_writes_items_and_everyone_signed_in_reads(api, admin, supervisor, operator):
    item = await new_item(api, admin)
    for user in (supervisor, operator):
        error_of(await api.post("/api/items", json=chicken(), headers=user.headers), 403, "INSUFFICIENT_PERMISSIONS")
        error_of(await api.patch(f"/api/items/{item['id']}", json={"name": "x"}, headers=user.headers), 403,
                 "INSUFFICIENT_PERMISSIONS")
        error_of(await api.delete(f"/api/items/{item['id']}", headers=user.headers), 403, "INSUFFICIENT_PERMISSIONS")
        error_of(await api.patch(f"/api/items/{item['id']}/price", json={"price": 1, "periodId": MISSING},
                                 headers=user.headers), 403, "INSUFFICIENT_PERMISSIONS")
        assert ok(await api.get(f"/api/items/{item['id']}", headers=user.headers))["id"] == item["id"]
        ok(await api.get("/api/items", headers=user.headers))
    error_of(await api.get("/api/items"), 401, "NOT_AUTHENTICATED")
    error_of(await api.post("/api/items", json=chicken()), 401, "NOT_AUTHENTICATED")


async def test_unknown_or_malformed_item_is_not_found(api, admin):
    for item_id in (MISSING, "not-a-uuid"):
        error_of(await api.get(f"/api/items/{item_id}", headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.patch(f"/api/items/{item_id}", json={"name": "x"}, headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.delete(f"/api/items/{item_id}", headers=admin.headers), 404, "NOT_FOUND")


async def test_list_filters_by_category_active_and_search_with_pagination(api, admin):
    category = unique("FLT").upper()
    marker = unique("mk")
    items = [await new_item(api, admin, category=category, name=f"Beef {marker} {n}") for n in range(3)]
    ok(await api.patch(f"/api/items/{items[2]['id']}", json={"is_active": False}, headers=admin.headers))
    response = await api.get("/api/items", params={"category": category, "limit": 2}, headers=admin.headers)
    assert response.headers["X-Total-Count"] == "3" and len(ok(response)) == 2
    page2 = ok(await api.get("/api/items", params={"category": category, "limit": 2, "page": 2},
                             headers=admin.headers))
    codes = [i["code"] for i in ok(response) + page2]
    assert codes == sorted(i["code"] for i in items)  # by code, no row twice
    active = await api.get("/api/items", params={"category": category, "active": "true"}, headers=admin.headers)
    assert {i["id"] for i in ok(active)} == {items[0]["id"], items[1]["id"]}
    inactive = ok(await api.get("/api/items", params={"category": category, "active": False}, headers=admin.headers))
    assert [i["id"] for i in inactive] == [items[2]["id"]] and inactive[0]["is_active"] is False
    by_name = await api.get("/api/items", params={"search": marker.upper()}, headers=admin.headers)
    assert by_name.headers["X-Total-Count"] == "3"
    by_code = ok(await api.get("/api/items", params={"search": items[1]["code"]}, headers=admin.headers))
    assert [i["id"] for i in by_code] == [items[1]["id"]]
    assert invalid_paths(await api.get("/api/items", params={"limit": 0}, headers=admin.headers)) == [
        ["limit"]]


async def test_list_with_location_carries_that_locations_stock(api, admin, operator, session_factory):
    location, category = seed_location(session_factory), unique("LOCS").upper()
    stocked = await new_item(api, admin, category=category)
    empty = await new_item(api, admin, category=category)
    with session_scope(session_factory) as session:
        item_id = session.scalars(select(Material.id).where(Material.uid == uuid.UUID(stocked["id"]))).one()
        session.add(LocationStock(location_id=location.id, item_id=item_id, on_hand=Decimal("10"),
                                  wac=Decimal("2.5"), min_stock=Decimal("20"), max_stock=Decimal("100")))
    params = {"category": category, "locationId": location.uid}
    rows = {i["id"]: i for i in ok(await api.get("/api/items", params=params, headers=admin.headers))}
    assert set(rows[stocked["id"]]) == ITEM_FIELDS | STOCK_FIELDS
    assert {k: rows[stocked["id"]][k] for k in STOCK_FIELDS} == {
        "on_hand": 10, "wac": 2.5, "value": 25, "min_stock": 20, "max_stock": 100, "is_low_stock": True}
    assert {k: rows[empty["id"]][k] for k in STOCK_FIELDS} == {
        "on_hand": 0, "wac": 0, "value": 0, "min_stock": None, "max_stock": None, "is_low_stock": False}
    without = ok(await api.get("/api/items", params={"category": category}, headers=admin.headers))
    assert all(set(i) == ITEM_FIELDS for i in without)
    error_of(await api.get("/api/items", params=params, headers=operator.headers), 403, "LOCATION_ACCESS_DENIED")
    assign(session_factory, operator.id, location)
    assert len(ok(await api.get("/api/items", params=params, headers=operator.headers))) == 2
    error_of(await api.get("/api/items", params={"locationId": MISSING}, headers=admin.headers), 404, "NOT_FOUND")


async def test_update_item(api, admin, session_factory):
    item = await new_item(api, admin)
    category = unique("UPD").upper()
    changed = ok(await api.patch(f"/api/items/{item['id']}", json={
        "name": "Chicken Thigh", "unit": "PCS", "category": category, "sub_category": None, "is_active": False},
        headers=admin.headers))
    assert changed["name"] == "Chicken Thigh" and changed["unit"] == "PCS" and changed["category"] == category
    assert changed["sub_category"] is None and changed["is_active"] is False and changed["code"] == item["code"]
    material = row_of(session_factory, Material, item["id"])
    assert material.status == "discontinued" and material.version == 2
    listed = await api.get("/api/v1/materials", params={"status": "discontinued", "search": material.code},
                           headers=admin.headers)  # the same item, in the materials contract's own terms
    assert listed.status_code == 200, listed.text
    assert [(m["id"], m["status"]) for m in listed.json()["items"]] == [(material.id, "discontinued")]
    assert audit_actions(session_factory, "material", material.id) == ["ITEM_CREATED", "ITEM_UPDATED"]


async def test_delete_unused_item(api, admin, session_factory):
    item = await new_item(api, admin)
    material = row_of(session_factory, Material, item["id"])
    period = seed_period(session_factory, prices={material.id: Decimal("3")})  # an open period's price goes along
    assert ok(await api.delete(f"/api/items/{item['id']}", headers=admin.headers))["success"] is True
    error_of(await api.get(f"/api/items/{item['id']}", headers=admin.headers), 404, "NOT_FOUND")
    with session_scope(session_factory) as session:
        assert session.scalars(select(PeriodPrice).where(PeriodPrice.period_id == period.id)).all() == []
    assert audit_actions(session_factory, "material", material.id)[-1] == "ITEM_DELETED"


async def test_delete_item_in_use_is_refused_and_removes_nothing(api, admin, session_factory):
    stocked, priced = seed_item(session_factory), seed_item(session_factory)
    location = seed_location(session_factory)
    with session_scope(session_factory) as session:
        session.add(LocationStock(location_id=location.id, item_id=stocked.id))
    seed_period(session_factory, status="CLOSED", prices={priced.id: Decimal("4")})
    data = error_of(await api.delete(f"/api/items/{stocked.uid}", headers=admin.headers), 400, "INVALID_STATUS")
    assert data["details"]["used_by"] == ["location_stock"]
    data = error_of(await api.delete(f"/api/items/{priced.uid}", headers=admin.headers), 400, "INVALID_STATUS")
    assert data["details"]["used_by"] == ["period_prices (closed periods)"]
    for ref in (stocked, priced):
        ok(await api.get(f"/api/items/{ref.uid}", headers=admin.headers))


async def test_item_price_as_the_contract_shows(api, admin, session_factory):
    item = seed_item(session_factory)
    period = seed_period(session_factory)
    body = ok(await api.patch(f"/api/items/{item.uid}/price", json={"price": 28.5, "periodId": period.uid},
                              headers=admin.headers))
    assert body["price"] == 28.5 and body["item"] == {"id": item.uid, "code": item.code, "name": "Chicken Breast"}
    assert body["period"]["id"] == period.uid and body["period"]["status"] == "OPEN"
    again = ok(await api.patch(f"/api/items/{item.uid}/price", json={"price": 30, "periodId": period.uid},
                               headers=admin.headers))
    assert again["price"] == 30
    prices = ok(await api.get(f"/api/periods/{period.uid}/prices", headers=admin.headers))
    assert [(p["item_id"], p["price"]) for p in prices] == [(item.uid, 30)]
    assert audit_actions(session_factory, "period", period.id) == ["PERIOD_PRICES_SET", "PERIOD_PRICES_SET"]


async def test_item_price_errors(api, admin, session_factory):
    item = seed_item(session_factory)
    closed = seed_period(session_factory, status="CLOSED", prices={item.id: Decimal("5")})
    url = f"/api/items/{item.uid}/price"
    data = error_of(await api.patch(url, json={"price": 6, "periodId": closed.uid}, headers=admin.headers), 400,
                    "PERIOD_CLOSED")
    assert data["details"]["status"] == "CLOSED"
    with session_scope(session_factory) as session:
        assert session.get_one(Period, closed.id).status == "CLOSED"
        assert session.scalars(select(PeriodPrice.price).where(PeriodPrice.period_id == closed.id)).one() == 5
    error_of(await api.patch(url, json={"price": 6, "periodId": MISSING}, headers=admin.headers), 404, "NOT_FOUND")
    error_of(await api.patch(f"/api/items/{MISSING}/price", json={"price": 6, "periodId": closed.uid},
                             headers=admin.headers), 404, "NOT_FOUND")
    assert sorted(invalid_paths(await api.patch(url, json={"price": -1}, headers=admin.headers))) == [
        ["periodId"], ["price"]]


# --- suppliers --------------------------------------------------------------------------------------------

def fresh_foods(**fields: Any) -> dict[str, Any]:
    return {"code": unique("SUP-001"), "name": "Fresh Foods Co.", "contact_person": "John Doe",
            "phone": "+966501234567", "email": "contact@freshfoods.com", **fields}


async def test_create_supplier_as_the_contract_shows(api, admin, supervisor, session_factory):
    body = fresh_foods()
    supplier = ok(await api.post("/api/suppliers", json=body, headers=supervisor.headers))
    assert set(supplier) == SUPPLIER_FIELDS
    assert {k: supplier[k] for k in body} == body and supplier["is_active"] is True
    row = row_of(session_factory, Supplier, supplier["id"])
    assert (row.contact_name, row.contact_phone, row.contact_email, row.status) == (
        "John Doe", "+966501234567", "contact@freshfoods.com", "active")
    assert ok(await api.get(f"/api/suppliers/{supplier['id']}", headers=admin.headers)) == supplier
    assert audit_actions(session_factory, "supplier", row.id) == ["SUPPLIER_CREATED"]
    duplicate = await api.post("/api/suppliers", json=fresh_foods(code=body["code"]), headers=admin.headers)
    assert error_of(duplicate, 409, "DUPLICATE_ENTRY")["details"]["field"] == "code"


async def test_supplier_validation_and_not_found(api, admin):
    response = await api.post("/api/suppliers", json=fresh_foods(email="not-an-email", name=""), headers=admin.headers)
    assert sorted(invalid_paths(response)) == [["email"], ["name"]]
    for supplier_id in (MISSING, "nope"):
        error_of(await api.get(f"/api/suppliers/{supplier_id}", headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.patch(f"/api/suppliers/{supplier_id}", json={"name": "x"}, headers=admin.headers), 404,
                 "NOT_FOUND")
        error_of(await api.delete(f"/api/suppliers/{supplier_id}", headers=admin.headers), 404, "NOT_FOUND")


async def test_supplier_role_matrix(api, admin, supervisor, operator):
    error_of(await api.post("/api/suppliers", json=fresh_foods(), headers=operator.headers), 403,
             "INSUFFICIENT_PERMISSIONS")
    supplier = ok(await api.post("/api/suppliers", json=fresh_foods(), headers=admin.headers))
    url = f"/api/suppliers/{supplier['id']}"
    error_of(await api.patch(url, json={"name": "x"}, headers=operator.headers), 403, "INSUFFICIENT_PERMISSIONS")
    error_of(await api.delete(url, headers=operator.headers), 403, "INSUFFICIENT_PERMISSIONS")
    assert ok(await api.get(url, headers=operator.headers))["id"] == supplier["id"]
    ok(await api.get("/api/suppliers", headers=operator.headers))
    assert ok(await api.patch(url, json={"name": "Fresher"}, headers=supervisor.headers))["name"] == "Fresher"
    ok(await api.delete(url, headers=supervisor.headers))
    error_of(await api.get("/api/suppliers"), 401, "NOT_AUTHENTICATED")
    error_of(await api.post("/api/suppliers", json=fresh_foods()), 401, "NOT_AUTHENTICATED")


async def test_list_suppliers_searches_and_pages(api, admin):
    marker = unique("vendor")
    made = [ok(await api.post("/api/suppliers", json=fresh_foods(name=f"{marker} {n}"), headers=admin.headers))
            for n in range(3)]
    response = await api.get("/api/suppliers", params={"search": marker, "limit": 2}, headers=admin.headers)
    assert response.headers["X-Total-Count"] == "3" and len(ok(response)) == 2
    page2 = ok(await api.get("/api/suppliers", params={"search": marker, "limit": 2, "page": 2},
                             headers=admin.headers))
    assert sorted(s["id"] for s in ok(response) + page2) == sorted(s["id"] for s in made)
    by_code = ok(await api.get("/api/suppliers", params={"search": made[0]["code"]}, headers=admin.headers))
    assert [s["id"] for s in by_code] == [made[0]["id"]]


async def test_update_supplier(api, admin, session_factory):
    supplier = ok(await api.post("/api/suppliers", json=fresh_foods(), headers=admin.headers))
    changed = ok(await api.patch(f"/api/suppliers/{supplier['id']}", json={
        "phone": "+966500000000", "email": None, "is_active": False}, headers=admin.headers))
    assert changed["phone"] == "+966500000000" and changed["email"] is None and changed["is_active"] is False
    assert changed["contact_person"] == "John Doe" and changed["code"] == supplier["code"]
    other = ok(await api.post("/api/suppliers", json=fresh_foods(), headers=admin.headers))
    error_of(await api.patch(f"/api/suppliers/{other['id']}", json={"code": supplier["code"]}, headers=admin.headers),
             409, "DUPLICATE_ENTRY")
    row = row_of(session_factory, Supplier, supplier["id"])
    assert row.status == "inactive"
    assert audit_actions(session_factory, "supplier", row.id) == ["SUPPLIER_CREATED", "SUPPLIER_UPDATED"]


async def test_delete_supplier(api, admin, session_factory):
    unused, delivering = seed_supplier(session_factory), seed_supplier(session_factory)
    location = seed_location(session_factory)
    with session_scope(session_factory) as session:
        session.add(Delivery(delivery_no=unique("DLV"), location_id=location.id, supplier_id=delivering.id,
                             delivery_date=seed_period(session_factory).start, status="DRAFT"))
    data = error_of(await api.delete(f"/api/suppliers/{delivering.uid}", headers=admin.headers), 400,
                    "INVALID_STATUS")
    assert data["details"]["used_by"] == ["deliveries"]
    ok(await api.get(f"/api/suppliers/{delivering.uid}", headers=admin.headers))
    assert ok(await api.delete(f"/api/suppliers/{unused.uid}", headers=admin.headers))["success"] is True
    error_of(await api.get(f"/api/suppliers/{unused.uid}", headers=admin.headers), 404, "NOT_FOUND")
    assert audit_actions(session_factory, "supplier", unused.id) == ["SUPPLIER_DELETED"]
