"""Dashboards (multi-location-stock.md §1 location dashboard, §2 consolidated) and consolidated stock (§5): the
contract's example (150.5 KG at 25.50 → 3,837.75 at the kitchen, 100 KG at the store → 250.5 KG, 6,387.75),
low stock, category filter, pagination with totals over all rows, a fixed number of queries whatever the number
of items, the role/location matrix and pending approvals. The database is shared: every test filters on its own
category, locations and period."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, update

from core.db import session_scope
from models.stock import LocationStock, Period, PeriodLocation, PobEntry
from services.stock.dashboards import days_left
from tests.conftest import unique
from tests.stock.helpers import PeriodRef, Ref, assign, seed_item, seed_location, seed_period, seed_stock
from tests.stock.test_deliveries import delivered, error_of, new_site
from tests.stock.test_issues import issued

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Stock:
    category: str
    kitchen: Ref
    store: Ref
    chicken: Ref
    period: PeriodRef


def set_levels(factory: Any, location: Ref, item: Ref, min_stock: str | None, max_stock: str | None) -> None:
    with session_scope(factory) as session:
        session.execute(update(LocationStock).where(LocationStock.location_id == location.id,
                                                    LocationStock.item_id == item.id)
                        .values(min_stock=min_stock and Decimal(min_stock), max_stock=max_stock and Decimal(max_stock)))


@pytest.fixture
def stock(session_factory) -> Stock:
    category = unique("PROTEINS").upper()
    kitchen, store = seed_location(session_factory), seed_location(session_factory, "STORE", "Store")
    chicken = seed_item(session_factory, category=category)
    period = seed_period(session_factory, locations=[kitchen, store])
    seed_stock(session_factory, kitchen, chicken, "150.5", "25.50", period.start)
    seed_stock(session_factory, store, chicken, "100", "25.50", period.start)
    set_levels(session_factory, kitchen, chicken, "50", "500")
    return Stock(category, kitchen, store, chicken, period)


def location_row(location: Ref, name: str, on_hand: float, wac: float, value: float, min_stock: float | None = None,
                 max_stock: float | None = None, low: bool = False) -> dict[str, Any]:
    return {"location_id": location.uid, "location_code": location.code, "location_name": name, "on_hand": on_hand,
            "wac": wac, "value": value, "min_stock": min_stock, "max_stock": max_stock, "is_low_stock": low}


# --- consolidated stock ---------------------------------------------------------------------------------------

async def test_consolidated_stock_is_the_contract_example(api, make_user, stock):
    supervisor = await make_user("SUPERVISOR")

    response = await api.get("/api/stock/consolidated", params={"category": stock.category.lower()},
                             headers=supervisor.headers)

    assert response.status_code == 200, response.text
    assert response.headers["X-Total-Count"] == "1"
    assert response.json() == {
        "consolidated_stock": [{
            "item_id": stock.chicken.uid, "item_code": stock.chicken.code, "item_name": "Chicken Breast",
            "item_unit": "KG", "item_category": stock.category, "total_on_hand": 250.5, "total_value": 6387.75,
            "locations": sorted([location_row(stock.kitchen, "Kitchen", 150.5, 25.5, 3837.75, 50, 500),
                                 location_row(stock.store, "Store", 100, 25.5, 2550.0)],
                                key=lambda row: row["location_code"])}],
        "location_totals": sorted([
            {"location_id": stock.kitchen.uid, "location_code": stock.kitchen.code, "location_name": "Kitchen",
             "total_value": 3837.75, "item_count": 1},
            {"location_id": stock.store.uid, "location_code": stock.store.code, "location_name": "Store",
             "total_value": 2550.0, "item_count": 1}], key=lambda row: row["location_code"]),
        "grand_total_value": 6387.75, "total_items": 1, "total_locations": 2}


async def test_low_stock_keeps_items_low_at_any_location(api, admin, stock, session_factory):
    rice, salt, flour = (seed_item(session_factory, name, category=stock.category)
                         for name in ("Rice", "Salt", "Flour"))
    seed_stock(session_factory, stock.store, rice, "10", "4.00", stock.period.start)  # 10 < 20: low
    set_levels(session_factory, stock.store, rice, "20", None)
    seed_stock(session_factory, stock.kitchen, rice, "30", "4.00", stock.period.start)  # not low here
    seed_stock(session_factory, stock.kitchen, salt, "20", "1.00", stock.period.start)  # 20 = min: not low
    set_levels(session_factory, stock.kitchen, salt, "20", None)
    seed_stock(session_factory, stock.kitchen, flour, "0.5", "2.00", stock.period.start)  # no minimum: not low

    response = await api.get("/api/stock/consolidated", params={"category": stock.category, "lowStock": "true"},
                             headers=admin.headers)

    body = response.json()
    assert [row["item_id"] for row in body["consolidated_stock"]] == [rice.uid]
    [row] = body["consolidated_stock"]
    assert {loc["location_id"]: loc["is_low_stock"] for loc in row["locations"]} == {
        stock.kitchen.uid: False, stock.store.uid: True}
    assert row["total_on_hand"] == 40 and row["total_value"] == 160
    assert body["total_items"] == 1 and body["grand_total_value"] == 160 and body["total_locations"] == 2
    everything = (await api.get("/api/stock/consolidated", params={"category": stock.category},
                                headers=admin.headers)).json()
    assert everything["total_items"] == 4
    assert everything["grand_total_value"] == 6387.75 + 160 + 20 + 1  # + rice, salt, flour


async def test_pages_of_items_keep_totals_over_all_rows(api, admin, stock, session_factory):
    for n in range(4):
        item = seed_item(session_factory, f"Item {n}", category=stock.category)
        seed_stock(session_factory, stock.kitchen, item, "1", "10.005", stock.period.start)  # 10.005 → 10.01

    first = await api.get("/api/stock/consolidated", params={"category": stock.category, "limit": 2},
                          headers=admin.headers)
    last = await api.get("/api/stock/consolidated", params={"category": stock.category, "limit": 2, "page": 3},
                         headers=admin.headers)

    assert first.headers["X-Total-Count"] == "5" and len(first.json()["consolidated_stock"]) == 2
    assert len(last.json()["consolidated_stock"]) == 1
    codes = [row["item_code"] for row in first.json()["consolidated_stock"] + last.json()["consolidated_stock"]]
    assert codes == sorted(codes)
    for body in (first.json(), last.json()):
        assert body["grand_total_value"] == 6387.75 + 4 * 10.01 and body["total_items"] == 5
    kitchen = next(t for t in first.json()["location_totals"] if t["location_id"] == stock.kitchen.uid)
    assert kitchen == {**kitchen, "total_value": 3837.75 + 40.04, "item_count": 5}


async def test_the_number_of_queries_does_not_grow_with_items(api, admin, engine, stock, session_factory):
    async def queries(category: str) -> int:
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = await api.get("/api/stock/consolidated", params={"category": category}, headers=admin.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    many = unique("MANY").upper()
    for n in range(8):
        item = seed_item(session_factory, f"Bulk {n}", category=many)
        for location in (stock.kitchen, stock.store):
            seed_stock(session_factory, location, item, "2", "3.00", stock.period.start)

    assert await queries(many) == await queries(stock.category)


async def test_consolidated_stock_is_for_supervisors_and_admins(api, make_user, stock):
    operator = await make_user("OPERATOR")
    response = await api.get("/api/stock/consolidated", headers=operator.headers)
    error_of(response, 403, "INSUFFICIENT_PERMISSIONS")
    assert (await api.get("/api/stock/consolidated")).status_code == 401


# --- location dashboard ---------------------------------------------------------------------------------------

async def test_days_left_counts_from_today_clamped_into_the_period():
    period = Period(start_date=date(2026, 1, 1), end_date=date(2026, 1, 31))
    assert days_left(period, date(2026, 1, 16)) == 15
    assert days_left(period, date(2026, 1, 31)) == 0
    assert days_left(period, date(2026, 3, 1)) == 0  # past
    assert days_left(period, date(2025, 12, 1)) == 30  # future: as on its first day


async def test_location_dashboard_totals_the_period(api, make_user, session_factory):
    site = new_site(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, site.location)
    await delivered(api, operator, site, quantity=100, unit_price=25.0, day=2)  # 2,500.00
    await delivered(api, operator, site, quantity=10, unit_price=25.0, day=3, status="DRAFT")  # not posted
    await issued(api, operator, site, 20, day=4)  # 20 × 25.00 = 500.00
    with session_scope(session_factory) as session:
        for day in (1, 2, 3):
            session.add(PobEntry(location_id=site.location.id, period_id=site.period.id,
                                 entry_date=site.period.date(day), crew_count=10, extra_count=2))

    response = await api.get(f"/api/locations/{site.location.uid}/dashboard", params={"periodId": site.period.uid},
                             headers=operator.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["location"] == {"id": site.location.uid, "code": site.location.code, "name": "Kitchen"}
    assert body["period"] == {"id": site.period.uid, "name": body["period"]["name"],
                              "start_date": site.period.start.isoformat(), "end_date": site.period.end.isoformat(),
                              "status": "OPEN"}
    length = (site.period.end - site.period.start).days
    assert body["totals"] == {"total_receipts": 2500.0, "total_issues": 500.0, "total_mandays": 36,
                              "days_left": length}  # a future period: its whole length
    assert [(d["status"], d["total_amount"]) for d in body["recent_deliveries"]] == [("DRAFT", 250), ("POSTED", 2500)]
    assert set(body["recent_deliveries"][0]) == {"id", "delivery_no", "delivery_date", "total_amount", "has_variance",
                                                 "status"}
    [issue] = body["recent_issues"]
    assert issue | {"issue_date": site.period.day(4), "cost_centre": "FOOD", "total_value": 500.0,
                    "status": "POSTED"} == issue


async def test_recent_documents_are_the_last_five(api, admin, session_factory):
    site = new_site(session_factory)
    await delivered(api, admin, site, quantity=100, unit_price=25.0, day=1)
    numbers = [(await issued(api, admin, site, 1, day=day))["issue"]["issue_no"] for day in range(2, 9)]

    body = (await api.get(f"/api/locations/{site.location.uid}/dashboard", headers=admin.headers)).json()

    assert [i["issue_no"] for i in body["recent_issues"]] == numbers[::-1][:5]
    current = await api.get("/api/periods/current", headers=admin.headers)
    if current.status_code == 200:
        assert body["period"]["id"] == current.json()["id"]
    else:
        assert body["period"] is None and body["totals"]["days_left"] == 0


async def test_location_dashboard_access(api, make_user, session_factory):
    site = new_site(session_factory)
    other = seed_location(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, site.location)
    url = f"/api/locations/{other.uid}/dashboard"

    error_of(await api.get(url, headers=operator.headers), 403, "LOCATION_ACCESS_DENIED")
    supervisor = await make_user("SUPERVISOR")
    assert (await api.get(url, headers=supervisor.headers)).status_code == 200
    missing = "00000000-0000-0000-0000-000000000000"
    error_of(await api.get(f"/api/locations/{missing}/dashboard", headers=supervisor.headers), 404, "NOT_FOUND")
    error_of(await api.get(url, params={"periodId": missing}, headers=supervisor.headers), 404, "NOT_FOUND")


# --- consolidated dashboard -----------------------------------------------------------------------------------

async def test_consolidated_dashboard_per_location(api, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    await delivered(api, supervisor, site, quantity=100, unit_price=25.0, day=2)
    await issued(api, supervisor, site, 40, day=3)  # 1,000.00; 60 left at 25.00 = 1,500.00
    with session_scope(session_factory) as session:
        session.execute(update(PeriodLocation).where(PeriodLocation.period_id == site.period.id,
                                                     PeriodLocation.location_id == site.location.id)
                        .values(status="READY"))

    response = await api.get("/api/dashboard/consolidated", params={"periodId": site.period.uid},
                             headers=supervisor.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"current_period", "locations", "totals", "pending_approvals"}
    assert body["current_period"]["id"] == site.period.uid and body["current_period"]["locations_ready"] >= 1
    mine = next(row for row in body["locations"] if row["id"] == site.location.uid)
    assert mine == {"id": site.location.uid, "code": site.location.code, "name": "Kitchen", "type": "KITCHEN",
                    "total_receipts": 2500.0, "total_issues": 1000.0, "stock_value": 1500.0, "is_ready": True}
    totals = body["totals"]
    assert totals["total_receipts"] == pytest.approx(sum(row["total_receipts"] for row in body["locations"]))
    assert totals["total_stock_value"] == pytest.approx(sum(row["stock_value"] for row in body["locations"]))
    assert isinstance(body["pending_approvals"], int)


async def test_consolidated_dashboard_is_for_supervisors_and_admins(api, make_user):
    operator = await make_user("OPERATOR")
    error_of(await api.get("/api/dashboard/consolidated", headers=operator.headers), 403, "INSUFFICIENT_PERMISSIONS")


async def test_pending_approvals_count_a_requested_transfer(api, make_user, stock):
    supervisor = await make_user("SUPERVISOR")

    async def pending() -> int:
        response = await api.get("/api/dashboard/consolidated", params={"periodId": stock.period.uid},
                                 headers=supervisor.headers)
        assert response.status_code == 200, response.text
        return int(response.json()["pending_approvals"])

    before = await pending()
    created = await api.post("/api/transfers", headers=supervisor.headers, json={
        "from_location_id": stock.kitchen.uid, "to_location_id": stock.store.uid,
        "request_date": stock.period.day(10), "lines": [{"item_id": stock.chicken.uid, "quantity": 5}]})
    assert created.status_code == 200, created.text

    assert await pending() == before + 1
