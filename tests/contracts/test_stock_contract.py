"""The stock contract (multi-location-stock.md) audited: the example requests and error codes no other
`tests/stock/` module covered. Each test sends a contract example as written (ids and dates substituted) and
checks the shape the contract shows, or provokes one code of its Error Codes table and checks the whole H3
body the client receives: `{statusCode, statusMessage, data: {code, message, details?}}`."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from core.timeutil import utcnow
from dto.stock import SnapshotChunk
from models.identity import User
from models.stock import Period
from services.stock import locations as stock_locations
from services.stock.periods import close as stock_period_close
from tests.conftest import MakeUser, TestUser
from tests.stock.helpers import (
    PeriodRef,
    Ref,
    assign,
    fresh_month,
    seed_item,
    seed_location,
    seed_period,
    seed_stock,
    stock_of,
)
from tests.stock.test_auth import SESSION_USER_FIELDS
from tests.stock.test_deliveries import delivered, new_site, post_delivery
from tests.stock.test_reconciliation import contract_month

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPROVAL_FIELDS = {"id", "entityType", "entityId", "status", "requester", "reviewer", "requestedAt", "reviewedAt",
                   "comments"}
RECONCILIATION_FIELDS = {"location", "opening_stock", "receipts", "transfers_in", "transfers_out", "issues",
                         "closing_stock", "back_charges", "credits", "condemnations", "adjustments", "consumption",
                         "total_mandays", "manday_cost", "is_confirmed"}


def h3_error(response: httpx.Response, status: int, code: str, status_message: str) -> dict[str, Any]:
    """The whole error body as the contract's client receives it; returns its `data`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage", "data"}, body
    assert (body["statusCode"], body["statusMessage"]) == (status, status_message), body
    data = body["data"]
    assert {"code", "message"} <= set(data) <= {"code", "message", "details"}, data
    assert data["code"] == code and isinstance(data["message"], str) and data["message"], data
    return dict(data)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def uid_of_user(factory: Any, user: TestUser) -> str:
    with session_scope(factory) as session:
        return str(session.scalars(select(User.uid).where(User.id == user.id)).one())


def is_utc_timestamp(value: Any) -> bool:
    return isinstance(value, str) and value.endswith("Z") and bool(datetime.fromisoformat(value.replace("Z", "+00:00")))


class Rebalancing:
    """A kitchen holding 100 KG of chicken at 25.50 and a store, in an open period; an OPERATOR (Operator One)
    of the kitchen requests transfers, a SUPERVISOR decides them."""

    def __init__(self, factory: Any, operator: TestUser, supervisor: TestUser) -> None:
        self.kitchen, self.store = seed_location(factory), seed_location(factory, "STORE", "Store")
        self.item = seed_item(factory)
        self.period = seed_period(factory, locations=[self.kitchen, self.store])
        seed_stock(factory, self.kitchen, self.item, "100", "25.50", self.period.start)
        assign(factory, operator.id, self.kitchen)
        self.operator, self.supervisor = operator, supervisor

    def body(self, quantity: float = 50, day: int = 25, to: Ref | None = None) -> dict[str, Any]:
        """The contract's create-transfer example."""
        return {"from_location_id": self.kitchen.uid, "to_location_id": (to or self.store).uid,
                "request_date": self.period.day(day), "notes": "Stock rebalancing",
                "lines": [{"item_id": self.item.uid, "quantity": quantity}]}

    async def request(self, api: httpx.AsyncClient, user: TestUser | None = None, **kwargs: Any) -> dict[str, Any]:
        response = await api.post("/api/transfers", json=self.body(**kwargs), headers=(user or self.operator).headers)
        return dict(ok(response)["transfer"])


@pytest.fixture
async def rebalancing(make_user: MakeUser, session_factory: Any) -> Rebalancing:
    operator = await make_user("OPERATOR", full_name="Operator One")
    return Rebalancing(session_factory, operator, await make_user("SUPERVISOR"))


# --- §Authentication: the session ---------------------------------------------------------------------------

async def test_the_session_answers_the_contracts_user_session(api, make_user, session_factory):
    kitchen = seed_location(session_factory, "KITCHEN", "Kitchen")
    operator = await make_user("OPERATOR", full_name="Olga Operator", default_location_id=kitchen.id)
    assign(session_factory, operator.id, kitchen)

    body = ok(await api.get("/api/auth/session", headers=operator.headers))

    assert set(body) == {"user", "loggedInAt"} and set(body["user"]) == SESSION_USER_FIELDS
    assert body["user"] == {
        "id": uid_of_user(session_factory, operator), "username": operator.username, "email": operator.email,
        "full_name": "Olga Operator", "role": "OPERATOR", "default_location_id": kitchen.uid,
        "default_location": {"id": kitchen.uid, "code": kitchen.code, "name": "Kitchen", "type": "KITCHEN"},
        "locations": [kitchen.uid]}
    assert is_utc_timestamp(body["loggedInAt"])


# --- §10 Transfers: the list's filters ----------------------------------------------------------------------

async def test_transfers_are_listed_by_destination_and_request_dates(api, rebalancing, session_factory):
    scene = rebalancing
    pantry = seed_location(session_factory, "STORE", "Pantry")
    early = await scene.request(api, scene.supervisor, quantity=10, day=5)
    late = await scene.request(api, scene.supervisor, quantity=10, day=20)
    elsewhere = await scene.request(api, scene.supervisor, quantity=10, day=20, to=pantry)

    async def ids(**params: Any) -> list[str]:
        response = await api.get("/api/transfers", params=params, headers=scene.supervisor.headers)
        body = ok(response)
        assert response.headers["X-Total-Count"] == str(body["total"])
        return [transfer["id"] for transfer in body["transfers"]]

    to_store = {"toLocationId": scene.store.uid}
    assert await ids(**to_store) == [late["id"], early["id"]]  # newest request date first
    assert await ids(**to_store, startDate=scene.period.day(10)) == [late["id"]]
    assert await ids(**to_store, endDate=f"{scene.period.day(10)}T00:00:00.000Z") == [early["id"]]
    assert await ids(**to_store, status="PENDING_APPROVAL") == [late["id"], early["id"]]
    assert await ids(toLocationId=pantry.uid) == [elsewhere["id"]]
    assert set(await ids(fromLocationId=scene.kitchen.uid, startDate=scene.period.day(15),
                         endDate=scene.period.day(25))) == {late["id"], elsewhere["id"]}


# --- §14 Approvals --------------------------------------------------------------------------------------------

async def test_approval_details_show_the_request_and_its_pending_transfer(api, rebalancing, session_factory):
    scene = rebalancing
    transfer = await scene.request(api)

    body = ok(await api.get(f"/api/approvals/{transfer['approval_id']}", headers=scene.supervisor.headers))

    assert set(body) == {"approval", "entity"}
    approval = body["approval"]
    assert set(approval) == APPROVAL_FIELDS and is_utc_timestamp(approval["requestedAt"])
    assert approval == {
        "id": transfer["approval_id"], "entityType": "TRANSFER", "entityId": transfer["id"], "status": "PENDING",
        "requester": {"id": uid_of_user(session_factory, scene.operator), "username": scene.operator.username,
                      "full_name": "Operator One"},
        "reviewer": None, "requestedAt": approval["requestedAt"], "reviewedAt": None, "comments": None}
    entity = body["entity"]
    assert (entity["id"], entity["transfer_no"], entity["status"]) == (transfer["id"], transfer["transfer_no"],
                                                                       "PENDING_APPROVAL")


async def test_an_approval_rejected_with_the_contract_body_rejects_the_transfer(api, rebalancing, session_factory):
    scene = rebalancing
    transfer = await scene.request(api)

    body = ok(await api.patch(f"/api/approvals/{transfer['approval_id']}/reject",
                              json={"comments": "Rejected - insufficient justification"},
                              headers=scene.supervisor.headers))

    approval = body["approval"]
    assert (approval["status"], approval["comments"]) == ("REJECTED", "Rejected - insufficient justification")
    assert approval["reviewer"]["username"] == scene.supervisor.username and is_utc_timestamp(approval["reviewedAt"])
    assert body["entity"]["status"] == "REJECTED"
    assert body["entity"]["rejection_reason"] == "Rejected - insufficient justification"
    assert stock_of(session_factory, scene.kitchen, scene.item) == (Decimal("100.000"), Decimal("25.5000"))
    assert stock_of(session_factory, scene.store, scene.item) == (Decimal(0), Decimal(0))


async def test_approvals_are_not_created_on_their_own(api, admin):
    """The contract: "There is no standalone `POST /api/approvals` endpoint" (transfers and closes make them)."""
    response = await api.post("/api/approvals", json={"entityType": "TRANSFER", "comments": "please"},
                              headers=admin.headers)

    h3_error(response, 404, "NOT_FOUND", "Not Found")


# --- §11 NCRs -------------------------------------------------------------------------------------------------

async def test_a_manual_ncr_with_the_contract_body_names_its_delivery(api, make_user, session_factory):
    site = new_site(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, site.location)
    posted = await delivered(api, operator, site, unit_price=25.0)  # at the period price: no NCR of its own

    ncr = ok(await api.post("/api/ncrs", json={
        "location_id": site.location.uid, "delivery_id": posted["id"], "reason": "Items damaged in transit",
        "lines": [{"item_id": site.item.uid, "quantity": 5, "value": 127.5}]}, headers=operator.headers))

    assert (ncr["type"], ncr["status"], ncr["reason"], ncr["total_value"]) == (
        "MANUAL", "OPEN", "Items damaged in transit", 127.5)
    assert ncr["delivery"] == {"id": posted["id"], "delivery_no": posted["delivery"]["delivery_no"]}
    assert ncr["supplier"]["id"] == site.supplier.uid and ncr["location"]["id"] == site.location.uid
    assert ncr["lines"] == [{"item": {"id": site.item.uid, "code": site.item.code, "name": "Chicken Breast"},
                             "quantity": 5, "value": 127.5}]
    delivery = ok(await api.get(f"/api/deliveries/{posted['id']}", headers=operator.headers))
    assert [(n["id"], n["type"], n["status"]) for n in delivery["ncrs"]] == [(ncr["id"], "MANUAL", "OPEN")]


async def test_an_ncr_status_update_with_the_contract_body_sends_the_claim(api, make_user, session_factory):
    location, item = seed_location(session_factory), seed_item(session_factory)
    supervisor = await make_user("SUPERVISOR")
    ncr = ok(await api.post("/api/ncrs", json={
        "location_id": location.uid, "reason": "Items damaged in transit",
        "lines": [{"item_id": item.uid, "quantity": 5, "value": 127.5}]}, headers=supervisor.headers))

    sent = ok(await api.patch(f"/api/ncrs/{ncr['id']}", json={"status": "SENT", "resolution": "Credit note received"},
                              headers=supervisor.headers))

    assert (sent["id"], sent["status"], sent["resolution"]) == (ncr["id"], "SENT", "Credit note received")
    assert is_utc_timestamp(sent["sent_at"]) and sent["credited_at"] is None
    fetched = ok(await api.get(f"/api/ncrs/{ncr['id']}", headers=supervisor.headers))
    assert (fetched["status"], fetched["resolution"]) == ("SENT", "Credit note received")


async def test_ncrs_are_listed_by_location_and_creation_dates(api, make_user, session_factory):
    here, there, item = seed_location(session_factory), seed_location(session_factory), seed_item(session_factory)
    supervisor = await make_user("SUPERVISOR")
    today = utcnow().date()  # before raising: the NCRs are created today or later
    raised: dict[str, str] = {}
    for location in (here, there):
        raised[location.uid] = ok(await api.post("/api/ncrs", json={
            "location_id": location.uid, "reason": "Items damaged in transit",
            "lines": [{"item_id": item.uid, "quantity": 1, "value": 10}]}, headers=supervisor.headers))["id"]

    async def ids(**params: Any) -> list[str]:
        response = await api.get("/api/ncrs", params=params, headers=supervisor.headers)
        body = ok(response)
        assert response.headers["X-Total-Count"] == str(body["total"])
        return [ncr["id"] for ncr in body["ncrs"]]

    assert await ids(locationId=here.uid) == [raised[here.uid]]
    assert await ids(locationId=there.uid, type="MANUAL", status="OPEN") == [raised[there.uid]]
    assert await ids(locationId=here.uid, startDate=today.isoformat(),
                     endDate=(today + timedelta(days=1)).isoformat()) == [raised[here.uid]]
    assert await ids(locationId=here.uid, endDate=(today - timedelta(days=1)).isoformat()) == []
    assert await ids(locationId=here.uid, startDate=(today + timedelta(days=2)).isoformat()) == []


# --- §13 Reconciliations --------------------------------------------------------------------------------------

async def test_reconciliation_save_and_consolidated_rows_have_the_contract_shape(api, make_user, session_factory):
    location, period = contract_month(session_factory)
    supervisor, operator = await make_user("SUPERVISOR"), await make_user("OPERATOR")
    assign(session_factory, operator.id, location)

    saved = ok(await api.post("/api/reconciliations", headers=supervisor.headers, json={
        "periodId": period.uid, "locationId": location.uid, "back_charges": 1000.0, "credits": 500.0,
        "condemnations": 200.0, "adjustments": 0.0}))

    assert set(saved) == {"success", "message", "reconciliation", "calculations"}
    row = saved["reconciliation"]
    assert RECONCILIATION_FIELDS <= set(row)
    assert row["location"] == {"id": location.uid, "code": location.code, "name": "Kitchen"}
    assert row["is_confirmed"] is False and row["consumption"] == saved["calculations"]["consumption"] == 34500.0
    # without locationId: every location the caller may see (an OPERATOR: theirs)
    body = ok(await api.get("/api/reconciliations/consolidated", params={"periodId": period.uid},
                            headers=operator.headers))
    with session_scope(session_factory) as session:
        name = session.get_one(Period, period.id).name
    assert set(body) == {"period", "reconciliations", "grand_totals"}
    assert body["period"] == {"id": period.uid, "name": name} and body["reconciliations"] == [row]
    totals = body["grand_totals"]
    assert (totals["consumption"], totals["closing_stock"], totals["total_mandays"], totals["manday_cost"]) == (
        34500.0, 137000.0, 2100, 16.43)


# --- §3 Roll forward: "copies closing stock as opening stock" ----------------------------------------------------

def closed_with_snapshot(factory: Any, period: PeriodRef, location: Ref) -> None:
    """The period CLOSED with its location's closing snapshot, as an approved close leaves it."""
    with session_scope(factory) as session:
        row = session.get_one(Period, period.id)
        row.status = "PENDING_CLOSE"
        session.flush()
        stock_period_close.snapshot_chunk(session, SnapshotChunk(period_uid=period.uid,
                                                                 after_location_id=location.id - 1, limit=1))
        row.status = "CLOSED"


async def test_roll_forward_opens_the_next_period_with_the_closing_stock(api, admin, session_factory):
    kitchen, item = seed_location(session_factory), seed_item(session_factory)
    period = seed_period(session_factory, locations=[kitchen])
    fresh_month()  # the month the roll-forward creates: no other test takes it
    seed_stock(session_factory, kitchen, item, "100", "25.50", period.start)
    seed_stock(session_factory, kitchen, item, "50", "28.50", period.date(10))  # 150 at 26.50 = 3,975.00
    closed_with_snapshot(session_factory, period, kitchen)

    rolled = ok(await api.post(f"/api/periods/{period.uid}/roll-forward", headers=admin.headers))

    successor = rolled["period"]
    assert successor["status"] == "OPEN" and successor["start_date"] == (period.end + timedelta(days=1)).isoformat()
    body = ok(await api.get("/api/reconciliations/consolidated",
                            params={"periodId": successor["id"], "locationId": kitchen.uid}, headers=admin.headers))
    [row] = body["reconciliations"]
    assert (row["opening_stock"], row["receipts"], row["issues"], row["closing_stock"]) == (3975.0, 0, 0, 3975.0)


# --- Error Codes: the ones no other module asserts as the client's whole H3 body ---------------------------------

async def test_an_issue_beyond_the_stock_is_the_contracts_insufficient_stock_error(api, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    await delivered(api, supervisor, site, quantity=75, unit_price=25.0)

    response = await api.post(f"/api/locations/{site.location.uid}/issues", json={
        "issue_date": site.period.day(25), "cost_centre": "FOOD",
        "lines": [{"item_id": site.item.uid, "quantity": 100}]}, headers=supervisor.headers)

    data = h3_error(response, 400, "INSUFFICIENT_STOCK", "Insufficient Stock")
    assert data["message"] == "Cannot issue 100 KG of Chicken Breast. Only 75 KG available."
    assert data["details"] | {"item": "Chicken Breast", "requested": 100, "available": 75,
                              "location": site.location.code} == data["details"]
    assert stock_of(session_factory, site.location, site.item) == (Decimal("75.000"), Decimal("25.0000"))


async def test_posting_a_delivery_into_a_closed_period_is_period_closed(api, make_user, session_factory):
    site = new_site(session_factory)
    closed = seed_period(session_factory, status="CLOSED")
    supervisor = await make_user("SUPERVISOR")

    response = await post_delivery(api, supervisor, site, delivery_date=closed.day(3))

    data = h3_error(response, 400, "PERIOD_CLOSED", "Period Closed")
    assert data["details"] | {"status": "CLOSED", "date": closed.day(3)} == data["details"]
    assert stock_of(session_factory, site.location, site.item) == (Decimal(0), Decimal(0))


async def test_an_issue_no_open_period_covers_is_no_open_period(api, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    await delivered(api, supervisor, site, quantity=10, unit_price=25.0)

    response = await api.post(f"/api/locations/{site.location.uid}/issues", json={
        "issue_date": "2999-06-15", "cost_centre": "FOOD", "lines": [{"item_id": site.item.uid, "quantity": 1}]},
        headers=supervisor.headers)

    assert h3_error(response, 400, "NO_OPEN_PERIOD", "No Open Period")["details"] == {"date": "2999-06-15"}
    assert stock_of(session_factory, site.location, site.item) == (Decimal("10.000"), Decimal("25.0000"))


async def test_changing_a_posted_delivery_is_invalid_status(api, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    posted = await delivered(api, supervisor, site)
    url = f"/api/deliveries/{posted['id']}"

    for response in (await api.patch(url, json={"delivery_note": "DN-002"}, headers=supervisor.headers),
                     await api.delete(url, headers=supervisor.headers)):
        assert h3_error(response, 400, "INVALID_STATUS", "Invalid Status")["details"] == {"status": "POSTED"}
    assert ok(await api.get(url, headers=supervisor.headers))["delivery_note"] == "DN-001"


async def test_an_unexpected_failure_is_internal_error_without_internals(api, admin, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2 at db.internal:5432")

    monkeypatch.setattr(stock_locations, "list_locations", broken)
    transport = httpx.ASGITransport(app=api._transport.app, raise_app_exceptions=False)  # as a server answers
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/locations", headers=admin.headers)

    assert response.json() == {"statusCode": 500, "statusMessage": "Internal Server Error",
                               "data": {"code": "INTERNAL_ERROR", "message": "Internal server error",
                                        "details": None}}
    for leak in ("hunter2", "RuntimeError", "Traceback", "db.internal", "list_locations"):
        assert leak not in response.text
