"""Reports (multi-location-stock.md §16): stock-now, deliveries, issues and reconciliation with values worked
by hand from seeded stock and posted documents, their filters, missing and unknown parameters, OPERATOR
scoping, and the CSV variant (`Accept: text/csv`). The database is shared: each test reads its own location."""

import csv
import io
from typing import Any

import httpx
import pytest

from tests.conftest import unique
from tests.stock.helpers import Ref, assign, seed_item, seed_location, seed_period, seed_stock, seed_supplier
from tests.stock.test_dashboards import set_levels
from tests.stock.test_deliveries import delivered, error_of, new_site
from tests.stock.test_issues import issued
from tests.stock.test_reconciliation import contract_month

pytestmark = pytest.mark.asyncio(loop_scope="session")
CSV = {"Accept": "text/csv"}


def parse_csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text)))


def seeded_kitchen(factory: Any) -> tuple[Ref, Ref, Ref, str, str]:
    """A kitchen with 150.5 KG of chicken at 25.50 (3,837.75; min 50, max 500) and 10 KG of rice at 4.00
    (40.00; min 20: low), each in a category of its own."""
    proteins, dry = unique("PROTEINS").upper(), unique("DRY").upper()
    kitchen = seed_location(factory)
    chicken, rice = seed_item(factory, category=proteins), seed_item(factory, "Rice", category=dry)
    period = seed_period(factory, locations=[kitchen])
    seed_stock(factory, kitchen, chicken, "150.5", "25.50", period.start)
    seed_stock(factory, kitchen, rice, "10", "4.00", period.start)
    set_levels(factory, kitchen, chicken, "50", "500")
    set_levels(factory, kitchen, rice, "20", None)
    return kitchen, chicken, rice, proteins, dry


# --- stock now ------------------------------------------------------------------------------------------------

async def test_stock_now_lists_the_location_stock(api, make_user, session_factory):
    kitchen, chicken, rice, proteins, dry = seeded_kitchen(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, kitchen)

    response = await api.get("/api/reports/stock-now", params={"locationId": kitchen.uid}, headers=operator.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"] == "stock-now" and body["generated_at"].endswith("Z") and body["period"] is None
    assert body["location"] == {"id": kitchen.uid, "code": kitchen.code, "name": "Kitchen"}
    assert body["filters"] == {"category": None}
    by_item = {row["item_id"]: row for row in body["rows"]}
    assert by_item[chicken.uid] == {
        "item_id": chicken.uid, "item_code": chicken.code, "item_name": "Chicken Breast", "item_unit": "KG",
        "item_category": proteins, "on_hand": 150.5, "wac": 25.5, "value": 3837.75, "min_stock": 50,
        "max_stock": 500, "is_low_stock": False}
    assert by_item[rice.uid] | {"item_category": dry, "value": 40, "is_low_stock": True} == by_item[rice.uid]
    assert body["totals"] == {"item_count": 2, "total_value": 3877.75, "low_stock_count": 1}

    only = (await api.get("/api/reports/stock-now", params={"locationId": kitchen.uid, "category": dry.lower()},
                          headers=operator.headers)).json()
    assert [row["item_id"] for row in only["rows"]] == [rice.uid]
    assert only["totals"] == {"item_count": 1, "total_value": 40, "low_stock_count": 1}


async def test_stock_now_as_csv(api, admin, session_factory):
    kitchen, chicken, _, proteins, _ = seeded_kitchen(session_factory)

    response = await api.get("/api/reports/stock-now", params={"locationId": kitchen.uid}, headers=admin.headers | CSV)

    rows = parse_csv(response)
    assert rows[0] == ["item_code", "item_name", "item_unit", "item_category", "on_hand", "wac", "value", "min_stock",
                       "max_stock", "is_low_stock"]
    assert [chicken.code, "Chicken Breast", "KG", proteins, "150.500", "25.5000", "3837.75", "50.000", "500.000",
            "false"] in rows[1:]
    assert len(rows) == 3
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="stock-now-{kitchen.code}-') and disposition.endswith('.csv"')


# --- deliveries -----------------------------------------------------------------------------------------------

async def test_deliveries_report_lists_posted_deliveries_with_lines(api, admin, session_factory):
    site = new_site(session_factory)
    other = seed_supplier(session_factory, "Dry Goods Ltd")
    first = await delivered(api, admin, site, quantity=100, unit_price=25.0, day=2)  # 2,500.00
    await delivered(api, admin, site, quantity=10, unit_price=26.0, day=5, supplier_id=other.uid)  # 260.00, variance
    await delivered(api, admin, site, quantity=1, unit_price=25.0, day=6, status="DRAFT")  # not in the report
    params = {"locationId": site.location.uid, "periodId": site.period.uid}

    response = await api.get("/api/reports/deliveries", params=params, headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"] == "deliveries" and body["period"]["id"] == site.period.uid
    assert [row["total_amount"] for row in body["rows"]] == [2500.0, 260.0]
    head = body["rows"][0]
    assert head["id"] == first["delivery"]["id"] and head["supplier"]["id"] == site.supplier.uid
    assert head["lines"] == [{"line_no": 1, "item_id": site.item.uid, "item_code": site.item.code,
                              "item_name": "Chicken Breast", "item_unit": "KG", "item_category": "PROTEINS",
                              "quantity": 100.0, "unit_price": 25.0, "period_price": 25.0, "line_total": 2500.0,
                              "has_variance": False}]
    assert body["totals"] == {"delivery_count": 2, "line_count": 2, "total_amount": 2760.0, "variance_count": 1,
                              "variance_line_count": 1}

    filtered = (await api.get("/api/reports/deliveries", params=params | {"supplierId": other.uid},
                              headers=admin.headers)).json()
    assert [row["supplier"]["name"] for row in filtered["rows"]] == ["Dry Goods Ltd"]
    assert filtered["totals"]["total_amount"] == 260.0 and filtered["filters"] == {"supplier_id": other.uid}

    rows = parse_csv(await api.get("/api/reports/deliveries", params=params, headers=admin.headers | CSV))
    assert rows[0][:6] == ["delivery_no", "delivery_date", "invoice_no", "supplier_code", "supplier_name", "line_no"]
    assert rows[2][rows[0].index("line_total")] == "260.00" and rows[2][-1] == "true" and len(rows) == 3


# --- issues ---------------------------------------------------------------------------------------------------

async def test_issues_report_totals_by_cost_centre(api, admin, session_factory):
    site = new_site(session_factory)
    await delivered(api, admin, site, quantity=100, unit_price=25.0, day=1)
    await issued(api, admin, site, 20, day=2)  # FOOD 500.00
    await issued(api, admin, site, 4, day=3, cost_centre="CLEANING")  # 100.00
    await issued(api, admin, site, 10, day=4)  # FOOD 250.00
    params = {"locationId": site.location.uid, "periodId": site.period.uid}

    body = (await api.get("/api/reports/issues", params=params, headers=admin.headers)).json()

    assert [(row["cost_centre"], row["total_value"]) for row in body["rows"]] == [
        ("FOOD", 500.0), ("CLEANING", 100.0), ("FOOD", 250.0)]
    assert body["rows"][0]["lines"][0] | {"item_id": site.item.uid, "quantity": 20.0, "wac": 25.0,
                                          "value": 500.0} == body["rows"][0]["lines"][0]
    assert body["totals"] == {"issue_count": 3, "line_count": 3, "total_value": 850.0, "by_cost_centre": [
        {"cost_centre": "CLEANING", "issue_count": 1, "total_value": 100.0},
        {"cost_centre": "FOOD", "issue_count": 2, "total_value": 750.0}]}

    food = (await api.get("/api/reports/issues", params=params | {"costCentre": "food"}, headers=admin.headers)).json()
    assert food["totals"]["total_value"] == 750.0 and len(food["rows"]) == 2

    response = await api.get("/api/reports/issues", params=params, headers=admin.headers | CSV)
    rows = parse_csv(response)
    assert rows[0] == ["issue_no", "issue_date", "cost_centre", "line_no", "item_code", "item_name", "item_unit",
                       "item_category", "quantity", "wac", "value"]
    assert rows[1][1:] == [site.period.day(2), "FOOD", "1", site.item.code, "Chicken Breast", "KG", "PROTEINS",
                           "20.000", "25.0000", "500.00"]
    name = body["period"]["name"].replace(" ", "-")
    assert response.headers["content-disposition"] == f'attachment; filename="issues-{site.location.code}-{name}.csv"'


# --- reconciliation -------------------------------------------------------------------------------------------

async def test_reconciliation_report_reuses_the_reconciliation(api, make_user, session_factory):
    location, period = contract_month(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, location)

    body = (await api.get("/api/reports/reconciliation", params={"periodId": period.uid},
                          headers=operator.headers)).json()

    [row] = body["rows"]  # an OPERATOR's report covers only their locations
    assert body["location"] is None and body["period"]["id"] == period.uid
    assert row | {"location": {"id": location.uid, "code": location.code, "name": "Kitchen"},
                  "opening_stock": 125000.0, "receipts": 45000.0, "transfers_in": 5000.0, "transfers_out": 3000.0,
                  "issues": 35000.0, "closing_stock": 137000.0, "consumption": 35000.0, "total_mandays": 2100,
                  "manday_cost": 16.67} == row
    assert body["totals"]["consumption"] == 35000.0 and body["totals"]["total_mandays"] == 2100

    response = await api.get("/api/reports/reconciliation", params={"periodId": period.uid, "locationId": location.uid},
                             headers=operator.headers | CSV)
    rows = parse_csv(response)
    assert rows[0][:4] == ["location_code", "location_name", "opening_stock", "receipts"]
    assert rows[1][:4] == [location.code, "Kitchen", "125000.00", "45000.00"] and len(rows) == 2


# --- errors and access ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params", "missing"), [
    ("stock-now", {}, "locationId"),
    ("deliveries", {"periodId": "x"}, "locationId"),
    ("issues", {"locationId": "x"}, "periodId"),
    ("reconciliation", {"locationId": "x"}, "periodId"),
])
async def test_missing_parameters_are_validation_errors(api, admin, path, params, missing):
    response = await api.get(f"/api/reports/{path}", params=params, headers=admin.headers)
    data = error_of(response, 400, "VALIDATION_ERROR")
    assert [d["path"] for d in data["details"]] == [[missing]]


async def test_unknown_ids_are_not_found(api, admin, session_factory):
    site = new_site(session_factory)
    missing = "00000000-0000-0000-0000-000000000000"
    here = {"locationId": site.location.uid, "periodId": site.period.uid}
    for path, params in [("stock-now", {"locationId": missing}),
                         ("deliveries", here | {"locationId": missing}),
                         ("deliveries", here | {"periodId": "not-a-uuid"}),
                         ("deliveries", here | {"supplierId": missing}),
                         ("issues", here | {"periodId": missing}),
                         ("reconciliation", {"periodId": missing})]:
        error_of(await api.get(f"/api/reports/{path}", params=params, headers=admin.headers), 404, "NOT_FOUND")


async def test_operators_see_reports_of_their_locations_only(api, make_user, session_factory):
    site = new_site(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, seed_location(session_factory))
    here = {"locationId": site.location.uid, "periodId": site.period.uid}
    for path in ("stock-now", "deliveries", "issues", "reconciliation"):
        response = await api.get(f"/api/reports/{path}", params=here, headers=operator.headers)
        error_of(response, 403, "LOCATION_ACCESS_DENIED")
    supervisor = await make_user("SUPERVISOR")
    for path in ("stock-now", "deliveries", "issues"):
        assert (await api.get(f"/api/reports/{path}", params=here, headers=supervisor.headers)).status_code == 200
    assert (await api.get("/api/reports/stock-now", params=here)).status_code == 401
