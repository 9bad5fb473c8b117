"""Stock issues (multi-location-stock.md §9): the contract's example at WAC 25.5, WAC through a sequence of
deliveries and issues (worked by hand below), the ledger's balances, all-or-none on a shortage, every error
code, lists, immutability and the role/location matrix."""

import re
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from models.audit import AuditEntry
from models.stock import StockIssue
from tests.conftest import MakeUser
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import assign, seed_item, seed_period
from tests.stock.test_deliveries import Site, delivered, error_of, ledger_of, new_site, stock_of


def issue_body(site: Site, quantity: float, day: int = 25, cost_centre: str = "FOOD", **fields: Any) -> dict[str, Any]:
    return {"issue_date": site.period.day(day), "cost_centre": cost_centre,
            "lines": [{"item_id": site.item.uid, "quantity": quantity}], **fields}


async def post_issue(api: httpx.AsyncClient, user: AppUser, site: Site, quantity: float = 1,
                     **fields: Any) -> httpx.Response:
    return await api.post(f"/api/locations/{site.location.uid}/issues", json=issue_body(site, quantity, **fields),
                          headers=user.headers)


async def issued(api: httpx.AsyncClient, user: AppUser, site: Site, quantity: float, **fields: Any) -> dict[str, Any]:
    response = await post_issue(api, user, site, quantity, **fields)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


async def test_contract_example_issues_at_the_current_wac(api, supervisor, session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=100, unit_price=25.0, day=2)
    await delivered(api, supervisor, site, quantity=100, unit_price=26.0, day=3)
    # WAC = (100 × 25 + 100 × 26) / 200 = 5100 / 200 = 25.5
    response = await api.post(f"/api/locations/{site.location.uid}/issues", json={
        "issue_date": site.period.day(25), "cost_centre": "FOOD",
        "lines": [{"item_id": site.item.uid, "quantity": 15.5}]}, headers=supervisor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    issue_id, issue_no = body["issue"].pop("id"), body["issue"].pop("issue_no")
    assert uuid.UUID(issue_id) and re.fullmatch(r"ISS-\d{4}-\d{3,}", issue_no)
    # value = 15.5 × 25.5 = 395.25
    assert body == {"issue": {"issue_date": site.period.day(25), "cost_centre": "FOOD", "total_value": 395.25},
                    "lines": [{"item": {"id": site.item.uid, "code": site.item.code, "name": "Chicken Breast"},
                               "quantity": 15.5, "wac": 25.5, "value": 395.25}]}
    assert stock_of(session_factory, site) == (Decimal("184.5"), Decimal("25.5"))
    last = ledger_of(session_factory, site)[-1]
    assert (last.movement_type, last.quantity, last.unit_cost, last.value) == (
        "ISSUE", Decimal("-15.5"), Decimal("25.5"), Decimal("-395.25"))
    assert (last.balance_on_hand, last.balance_wac, last.period_id) == (Decimal("184.5"), Decimal("25.5"),
                                                                         site.period.id)
    with session_scope(session_factory) as session:
        stored = session.scalars(select(StockIssue).where(StockIssue.uid == uuid.UUID(issue_id))).one()
        assert last.source_key == f"issue:{stored.id}:line:1" and last.source_id == stored.id
        audit_row = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "issue",
                                                             AuditEntry.entity_id == str(stored.id))).one()
        assert audit_row.action_type == "ISSUE_POSTED" and audit_row.actor_id == supervisor.id
        assert audit_row.payload_diff["location_id"] == {"old": None, "new": site.location.id}
        assert audit_row.payload_diff["total_value"] == {"old": None, "new": 395.25}


async def test_wac_through_deliveries_and_issues_matches_the_hand_computation(api, supervisor, session_factory):
    site = new_site(session_factory, price=None)
    steps: list[tuple[str, float, float | None]] = [
        ("in", 10, 4.00),   # on hand 10, WAC 4
        ("in", 5, 7.00),    # (10 × 4 + 5 × 7) / 15 = 75 / 15 = 5
        ("out", 6, None),   # 6 × 5 = 30.00 out; 9 left at 5
        ("in", 3, 6.10),    # (9 × 5 + 3 × 6.10) / 12 = 63.3 / 12 = 5.275
        ("out", 2.5, None),  # 2.5 × 5.275 = 13.1875 → 13.19 out; 9.5 left
        ("in", 1, 9.99),    # (9.5 × 5.275 + 9.99) / 10.5 = 60.1025 / 10.5 = 5.72404… → 5.7240
        ("out", 9.5, None),  # 9.5 × 5.724 = 54.378 → 54.38 out; 1 left
    ]
    values = []
    for day, (way, quantity, price) in enumerate(steps, start=1):
        if way == "in":
            await delivered(api, supervisor, site, quantity=quantity, unit_price=price, day=day)
        else:
            values.append((await issued(api, supervisor, site, quantity, day=day))["issue"]["total_value"])
    assert values == [30.0, 13.19, 54.38]
    rows = ledger_of(session_factory, site)
    assert [(r.movement_type, r.quantity, r.balance_on_hand, r.balance_wac, r.value) for r in rows] == [
        ("RECEIPT", Decimal(10), Decimal(10), Decimal(4), Decimal("40.00")),
        ("RECEIPT", Decimal(5), Decimal(15), Decimal(5), Decimal("35.00")),
        ("ISSUE", Decimal(-6), Decimal(9), Decimal(5), Decimal("-30.00")),
        ("RECEIPT", Decimal(3), Decimal(12), Decimal("5.275"), Decimal("18.30")),
        ("ISSUE", Decimal("-2.5"), Decimal("9.5"), Decimal("5.275"), Decimal("-13.19")),
        ("RECEIPT", Decimal(1), Decimal("10.5"), Decimal("5.724"), Decimal("9.99")),
        ("ISSUE", Decimal("-9.5"), Decimal(1), Decimal("5.724"), Decimal("-54.38")),
    ]
    assert stock_of(session_factory, site) == (Decimal(1), Decimal("5.724"))


async def test_shortage_is_insufficient_stock_and_nothing_is_issued(api, supervisor, session_factory):
    site = new_site(session_factory)
    await delivered(api, supervisor, site, quantity=75, unit_price=25.0)
    rice = seed_item(session_factory, name="Rice")
    before = ledger_of(session_factory, site)
    body = issue_body(site, 10)
    body["lines"].append({"item_id": rice.uid, "quantity": 1})
    response = await api.post(f"/api/locations/{site.location.uid}/issues", json=body, headers=supervisor.headers)
    data = error_of(response, 400, "INSUFFICIENT_STOCK")
    assert {k: data["details"][k] for k in ("item", "requested", "available", "location")} == {
        "item": "Rice", "requested": 1, "available": 0, "location": site.location.code}

    too_much = error_of(await post_issue(api, supervisor, site, 100), 400, "INSUFFICIENT_STOCK")
    assert too_much["message"] == "Cannot issue 100 KG of Chicken Breast. Only 75 KG available."
    assert {k: too_much["details"][k] for k in ("item", "requested", "available", "location")} == {
        "item": "Chicken Breast", "requested": 100, "available": 75, "location": site.location.code}
    assert stock_of(session_factory, site) == (Decimal(75), Decimal(25))
    assert [r.id for r in ledger_of(session_factory, site)] == [r.id for r in before]
    listed = await api.get(f"/api/locations/{site.location.uid}/issues", headers=supervisor.headers)
    assert listed.json()["issues"] == [] and listed.headers["X-Total-Count"] == "0"
    exact = await issued(api, supervisor, site, 75)  # every last unit may go
    assert exact["issue"]["total_value"] == 1875 and stock_of(session_factory, site) == (Decimal(0), Decimal(25))


async def test_issue_needs_an_open_period(api, supervisor, session_factory):
    site = new_site(session_factory)
    await delivered(api, supervisor, site, quantity=10, unit_price=25.0)
    error_of(await post_issue(api, supervisor, site, issue_date="2299-06-15"), 400, "NO_OPEN_PERIOD")
    draft = seed_period(session_factory, status="DRAFT")
    error_of(await post_issue(api, supervisor, site, issue_date=draft.day(2)), 400, "NO_OPEN_PERIOD")
    pending = seed_period(session_factory, status="PENDING_CLOSE")
    data = error_of(await post_issue(api, supervisor, site, issue_date=pending.day(2)), 400, "PERIOD_CLOSED")
    assert data["details"]["status"] == "PENDING_CLOSE"
    assert stock_of(session_factory, site) == (Decimal(10), Decimal(25))


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"lines": [{"quantity": 0}]}, ["lines", 0, "quantity"], "Number must be greater than 0"),
    ({"lines": []}, ["lines"], "Array must contain at least 1 element(s)"),
    ({"cost_centre": " "}, ["cost_centre"], "String must contain at least 1 character(s)"),
    ({"lines": [{"quantity": 1.2345}]}, ["lines", 0, "quantity"], None),
    ({"issue_date": "25/12/2025"}, ["issue_date"], None),
])
async def test_invalid_issue_is_a_validation_error(api, supervisor, session_factory, change, path, message):
    site = new_site(session_factory)
    body = issue_body(site, 1)
    for key, value in change.items():
        body[key] = [{**body["lines"][0], **v} for v in value] if key == "lines" else value
    response = await api.post(f"/api/locations/{site.location.uid}/issues", json=body, headers=supervisor.headers)
    [detail] = error_of(response, 400, "VALIDATION_ERROR")["details"]
    assert detail["path"] == path and (message is None or detail["message"] == message)


async def test_unknown_ids_are_not_found(api, supervisor, session_factory):
    site = new_site(session_factory)
    missing = str(uuid.uuid4())
    error_of(await api.get(f"/api/issues/{missing}", headers=supervisor.headers), 404, "NOT_FOUND")
    error_of(await api.get(f"/api/locations/{missing}/issues", headers=supervisor.headers), 404, "NOT_FOUND")
    response = await api.post(f"/api/locations/{site.location.uid}/issues",
                              json={**issue_body(site, 1), "lines": [{"item_id": "nope", "quantity": 1}]},
                              headers=supervisor.headers)
    assert error_of(response, 404, "NOT_FOUND")["details"]["path"] == ["lines", 0, "item_id"]


async def test_list_filters_details_and_immutability(api, supervisor, session_factory):
    site = new_site(session_factory)
    await delivered(api, supervisor, site, quantity=50, unit_price=25.0, day=1)
    food = await issued(api, supervisor, site, 2, day=5)
    clean = await issued(api, supervisor, site, 3, day=12, cost_centre="CLEAN", notes="weekly")
    url = f"/api/locations/{site.location.uid}/issues"

    async def ids(**params: Any) -> list[str]:
        response = await api.get(url, params=params, headers=supervisor.headers)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["issues"]]

    assert await ids() == [clean["issue"]["id"], food["issue"]["id"]]
    assert await ids(costCentre="FOOD") == [food["issue"]["id"]]
    assert await ids(startDate=f"{site.period.day(10)}T00:00:00.000Z") == [clean["issue"]["id"]]
    assert await ids(endDate=site.period.day(5)) == [food["issue"]["id"]]
    paged = await api.get(url, params={"limit": 1}, headers=supervisor.headers)
    assert paged.headers["X-Total-Count"] == "2" and len(paged.json()["issues"]) == 1

    details = (await api.get(f"/api/issues/{clean['issue']['id']}", headers=supervisor.headers)).json()
    assert {k: details[k] for k in clean["issue"]} == clean["issue"] and details["lines"] == clean["lines"]
    assert details["notes"] == "weekly" and details["location"]["id"] == site.location.uid
    assert details["period"]["id"] == site.period.uid and details["created_by"]["username"] == supervisor.username
    for call in (api.patch(f"/api/issues/{food['issue']['id']}", json={"cost_centre": "X"}, headers=supervisor.headers),
                 api.delete(f"/api/issues/{food['issue']['id']}", headers=supervisor.headers)):
        assert (await call).status_code == 405
    assert stock_of(session_factory, site) == (Decimal(45), Decimal(25))


async def test_operator_issues_only_at_assigned_locations(api, make_user, supervisor, session_factory):
    mine, theirs = new_site(session_factory), new_site(session_factory)
    for site in (mine, theirs):
        await delivered(api, supervisor, site, quantity=10, unit_price=25.0)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, mine.location)
    own = await issued(api, operator, mine, 1)
    assert (await api.get(f"/api/issues/{own['issue']['id']}", headers=operator.headers)).status_code == 200

    other = await issued(api, supervisor, theirs, 1)
    for response in (await post_issue(api, operator, theirs, 1),
                     await api.get(f"/api/locations/{theirs.location.uid}/issues", headers=operator.headers),
                     await api.get(f"/api/issues/{other['issue']['id']}", headers=operator.headers)):
        assert error_of(response, 403, "LOCATION_ACCESS_DENIED")["details"] == {"location": theirs.location.code}
    assert stock_of(session_factory, theirs) == (Decimal(9), Decimal(25))

    admin = await make_user("ADMIN")
    assert (await post_issue(api, admin, theirs, 1)).status_code == 200
    viewer = await make_user("viewer")
    error_of(await post_issue(api, viewer, mine, 1), 403, "INSUFFICIENT_PERMISSIONS")
    error_of(await api.post(f"/api/locations/{mine.location.uid}/issues", json=issue_body(mine, 1)), 401,
             "NOT_AUTHENTICATED")
