"""Stock deliveries (multi-location-stock.md §8): the contract's example with its price-variance NCR, drafts
(edit, post, delete), posting rules (invoice, open period, duplicate invoice), the ledger and WAC, lists and
filters, every error code, the role/location matrix and the audit rows."""

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from core.db import session_scope
from models.audit import AuditEntry
from models.quality import NonConformance
from models.stock import Delivery, DeliveryLine, LocationStock, StockMovement
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import PeriodRef, Ref, assign, seed_item, seed_location, seed_period, seed_supplier
from workflows.stock.ncr import ncr_workflow_id

# --- helpers (also used by test_issues.py and test_concurrency.py) ------------------------------------------


@dataclass
class Site:
    """A location with an item, a supplier and an open period of its own (the item priced in it)."""

    location: Ref
    item: Ref
    supplier: Ref
    period: PeriodRef


def new_site(factory: Any, price: Decimal | None = Decimal("25.00")) -> Site:
    location, item, supplier = seed_location(factory), seed_item(factory), seed_supplier(factory)
    period = seed_period(factory, locations=[location], prices={item.id: price} if price is not None else None)
    return Site(location, item, supplier, period)


def delivery_body(site: Site, quantity: float = 100, unit_price: float = 26.0, status: str = "POSTED",
                  day: int = 25, **fields: Any) -> dict[str, Any]:
    return {"supplier_id": site.supplier.uid, "invoice_no": unique("INV"), "delivery_note": "DN-001",
            "delivery_date": site.period.day(day), "status": status,
            "lines": [{"item_id": site.item.uid, "quantity": quantity, "unit_price": unit_price}], **fields}


async def post_delivery(api: httpx.AsyncClient, user: AppUser, site: Site, **body: Any) -> httpx.Response:
    return await api.post(f"/api/locations/{site.location.uid}/deliveries", json=delivery_body(site, **body),
                          headers=user.headers)


async def delivered(api: httpx.AsyncClient, user: AppUser, site: Site, **body: Any) -> dict[str, Any]:
    response = await post_delivery(api, user, site, **body)
    assert response.status_code == 200, response.text
    return response.json()


def stock_of(factory: Any, site: Site) -> tuple[Decimal, Decimal] | None:
    """(on_hand, wac) of the site's item at its location; None when it never had stock."""
    with session_scope(factory) as session:
        row = session.scalars(select(LocationStock).where(LocationStock.location_id == site.location.id,
                                                          LocationStock.item_id == site.item.id)).first()
        return (row.on_hand, row.wac) if row else None


def ledger_of(factory: Any, site: Site) -> list[StockMovement]:
    with session_scope(factory) as session:
        return list(session.scalars(select(StockMovement).where(StockMovement.location_id == site.location.id,
                                                                StockMovement.item_id == site.item.id)
                                    .order_by(StockMovement.id)))


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage", "data"} and body["statusCode"] == status
    assert body["data"]["code"] == code, body
    return dict(body["data"])


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


# --- the contract's example ----------------------------------------------------------------------------------

async def test_contract_example_posts_stock_and_raises_a_price_variance_ncr(api, supervisor, session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    body = await delivered(api, supervisor, site, invoice_no=unique("INV-2025"))

    assert set(body) == {"id", "message", "delivery", "lines", "ncrs"}
    assert body["message"] == "Delivery posted. 1 price variance(s) detected and NCR(s) created automatically."
    delivery = body["delivery"]
    assert set(delivery) == {"id", "delivery_no", "delivery_date", "invoice_no", "total_amount", "has_variance",
                             "status"}
    assert delivery["id"] == body["id"] and re.fullmatch(r"DEL-\d{4}-\d{3,}", delivery["delivery_no"])
    assert delivery["delivery_date"] == site.period.day(25) and delivery["status"] == "POSTED"
    assert delivery["total_amount"] == 2600.00 and delivery["has_variance"] is True
    [line] = body["lines"]
    assert line["quantity"] == 100 and line["unit_price"] == 26.0 and line["total"] == 2600.0
    assert line["period_price"] == 25.0 and line["has_variance"] is True
    [ncr] = body["ncrs"]
    assert set(ncr) == {"id", "ncr_no", "type", "item", "expected_price", "actual_price", "variance",
                        "variance_percent"}
    assert re.fullmatch(r"NCR-\d{4}-\d{3,}", ncr["ncr_no"]) and ncr["type"] == "PRICE_VARIANCE"
    assert ncr["item"] == {"id": site.item.uid, "code": site.item.code, "name": "Chicken Breast"}
    assert (ncr["expected_price"], ncr["actual_price"], ncr["variance"], ncr["variance_percent"]) == (25, 26, 1, 4.0)

    with session_scope(session_factory) as session:
        row = session.scalars(select(NonConformance).where(NonConformance.uid == uuid.UUID(ncr["id"]))).one()
        stored = session.scalars(select(Delivery).where(Delivery.uid == uuid.UUID(body["id"]))).one()
        stored_line = session.scalars(select(DeliveryLine).where(DeliveryLine.delivery_id == stored.id)).one()
        assert (row.kind, row.status, row.location_id, row.supplier_id, row.material_id) == (
            "price_variance", "OPEN", site.location.id, site.supplier.id, site.item.id)
        assert (row.delivery_id, row.delivery_line_id) == (stored.id, stored_line.id)
        assert (row.variance, row.variance_percent, row.total_value) == (Decimal(1), Decimal("4.00"), Decimal(100))
        assert stored.period_id == site.period.id and stored.posted_at is not None
    assert stock_of(session_factory, site) == (Decimal(100), Decimal(26))
    [movement] = ledger_of(session_factory, site)
    assert (movement.movement_type, movement.quantity, movement.unit_cost, movement.value) == (
        "RECEIPT", Decimal(100), Decimal(26), Decimal(2600))
    assert (movement.balance_on_hand, movement.balance_wac) == (Decimal(100), Decimal(26))
    assert movement.source_key == f"delivery:{stored.id}:line:1" and movement.period_id == site.period.id


async def test_audit_rows_name_the_location(api, supervisor, session_factory):
    site = new_site(session_factory)
    body = await delivered(api, supervisor, site)
    with session_scope(session_factory) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.uid == uuid.UUID(body["id"]))).one()
        ncr = session.scalars(select(NonConformance).where(NonConformance.delivery_id == delivery.id)).one()
        of_delivery = (AuditEntry.entity_type == "delivery") & (AuditEntry.entity_id == str(delivery.id))
        of_ncr = (AuditEntry.entity_type == "ncr") & (AuditEntry.entity_id == str(ncr.id))
        rows = session.scalars(select(AuditEntry).where(of_delivery | of_ncr).order_by(AuditEntry.id)).all()
        assert [r.action_type for r in rows] == ["DELIVERY_CREATED", "NCR_RAISED", "DELIVERY_POSTED"]
        assert all(r.actor_id == supervisor.id for r in rows)
        assert all(r.payload_diff["location_id"] == {"old": None, "new": site.location.id} for r in rows)
        assert rows[2].payload_diff["ncrs"]["new"] == [ncr.ncr_number]


async def test_raised_ncrs_start_their_lifecycles(api, supervisor, session_factory, temporal_client):
    site = new_site(session_factory)
    posted = await delivered(api, supervisor, site)
    draft = await delivered(api, supervisor, site, status="DRAFT")
    patched = await api.patch(f"/api/deliveries/{draft['id']}", json={"status": "POSTED"}, headers=supervisor.headers)
    assert patched.status_code == 200, patched.text
    for ncr in posted["ncrs"] + patched.json()["ncrs"]:
        described = await temporal_client.get_workflow_handle(ncr_workflow_id(ncr["id"])).describe()
        assert described.status == WorkflowExecutionStatus.RUNNING


async def test_no_variance_at_the_period_price_or_without_one(api, supervisor, session_factory):
    at_price = await delivered(api, supervisor, new_site(session_factory), unit_price=25.0)
    unpriced = await delivered(api, supervisor, new_site(session_factory, price=None), unit_price=31.0)
    for body in (at_price, unpriced):
        assert body["message"] == "Delivery posted. Stock and WAC updated; no price variance."
        assert body["ncrs"] == [] and body["delivery"]["has_variance"] is False
    assert unpriced["lines"][0]["period_price"] is None


async def test_cheaper_delivery_is_a_negative_variance_and_totals_round_to_cents(api, supervisor, session_factory):
    site = new_site(session_factory, price=Decimal("3.3333"))
    body = await delivered(api, supervisor, site, quantity=7.125, unit_price=3.2)
    # line total 7.125 × 3.2 = 22.80; variance 3.2 − 3.3333 = −0.1333 → −4.00 % of 3.3333 (−3.999…)
    assert body["delivery"]["total_amount"] == 22.8
    [ncr] = body["ncrs"]
    assert (ncr["variance"], ncr["variance_percent"]) == (-0.1333, -4.0)
    with session_scope(session_factory) as session:
        row = session.scalars(select(NonConformance).where(NonConformance.uid == uuid.UUID(ncr["id"]))).one()
        assert row.total_value == Decimal("-0.95")  # −0.1333 × 7.125 = −0.9497625


async def test_multi_line_delivery_sums_lines_and_raises_one_ncr_per_varying_line(api, supervisor, session_factory):
    site = new_site(session_factory, price=Decimal("10"))
    other = seed_item(session_factory, name="Rice")
    body = delivery_body(site, quantity=3, unit_price=10.0)
    body["lines"] += [{"item_id": other.uid, "quantity": 2.5, "unit_price": 4.99},
                      {"item_id": site.item.uid, "quantity": 1, "unit_price": 12.5}]
    response = await api.post(f"/api/locations/{site.location.uid}/deliveries", json=body, headers=supervisor.headers)
    answer = response.json()
    # 30.00 + 12.475 → 12.48 + 12.50 = 54.98
    assert answer["delivery"]["total_amount"] == 54.98 and [li["total"] for li in answer["lines"]] == [30, 12.48, 12.5]
    assert [n["item"]["id"] for n in answer["ncrs"]] == [site.item.uid]
    assert [li["has_variance"] for li in answer["lines"]] == [False, False, True]
    # WAC of the item: 3 @ 10 then 1 @ 12.5 → (30 + 12.5) / 4 = 10.625
    assert stock_of(session_factory, site) == (Decimal(4), Decimal("10.625"))


# --- drafts ----------------------------------------------------------------------------------------------------

async def test_draft_has_no_stock_effect_and_is_edited_then_posted(api, supervisor, session_factory):
    site = new_site(session_factory)
    draft = await delivered(api, supervisor, site, status="DRAFT", invoice_no=None, unit_price=26.0)
    assert draft["message"] == "Delivery saved as draft." and draft["ncrs"] == []
    assert draft["delivery"]["status"] == "DRAFT" and draft["delivery"]["invoice_no"] is None
    assert stock_of(session_factory, site) is None and ledger_of(session_factory, site) == []

    url = f"/api/deliveries/{draft['id']}"
    edited = await api.patch(url, json={"lines": [{"item_id": site.item.uid, "quantity": 40, "unit_price": 25}],
                                        "delivery_note": "DN-2"}, headers=supervisor.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["message"] == "Delivery updated." and edited.json()["delivery"]["total_amount"] == 1000

    refused = await api.patch(url, json={"status": "POSTED"}, headers=supervisor.headers)
    assert error_of(refused, 400, "VALIDATION_ERROR")["details"] == [
        {"path": ["invoice_no"], "message": "Invoice number is required to post a delivery"}]

    posted = await api.patch(url, json={"status": "POSTED", "invoice_no": unique("INV"),
                                        "lines": [{"item_id": site.item.uid, "quantity": 40, "unit_price": 27.5}]},
                             headers=supervisor.headers)
    assert posted.status_code == 200, posted.text
    assert posted.json()["delivery"]["status"] == "POSTED" and len(posted.json()["ncrs"]) == 1
    assert stock_of(session_factory, site) == (Decimal(40), Decimal("27.5"))

    for call in (api.patch(url, json={"delivery_note": "late"}, headers=supervisor.headers),
                 api.delete(url, headers=supervisor.headers)):
        assert error_of(await call, 400, "INVALID_STATUS")["details"] == {"status": "POSTED"}


async def test_draft_is_deleted(api, supervisor, session_factory):
    site = new_site(session_factory)
    draft = await delivered(api, supervisor, site, status="DRAFT")
    response = await api.delete(f"/api/deliveries/{draft['id']}", headers=supervisor.headers)
    assert response.status_code == 200 and response.json()["success"] is True
    error_of(await api.get(f"/api/deliveries/{draft['id']}", headers=supervisor.headers), 404, "NOT_FOUND")


async def test_draft_named_by_an_ncr_is_not_deleted(api, supervisor, session_factory):
    site = new_site(session_factory)
    draft = await delivered(api, supervisor, site, status="DRAFT")
    with session_scope(session_factory) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.uid == uuid.UUID(draft["id"]))).one()
        ncr = NonConformance(ncr_number=unique("NCR"), kind="manual", status="OPEN", title="Damaged",
                             location_id=site.location.id, delivery_id=delivery.id)
        session.add(ncr)
        session.flush()
        number = ncr.ncr_number
    refused = await api.delete(f"/api/deliveries/{draft['id']}", headers=supervisor.headers)
    assert error_of(refused, 400, "INVALID_STATUS")["details"] == {"status": "DRAFT", "ncr_no": number}
    details = (await api.get(f"/api/deliveries/{draft['id']}", headers=supervisor.headers)).json()
    assert [(n["ncr_no"], n["type"], n["item"]) for n in details["ncrs"]] == [(number, "MANUAL", None)]


async def test_status_defaults_to_draft(api, supervisor, session_factory):
    site = new_site(session_factory)
    body = delivery_body(site)
    del body["status"]
    response = await api.post(f"/api/locations/{site.location.uid}/deliveries", json=body, headers=supervisor.headers)
    assert response.json()["delivery"]["status"] == "DRAFT"


# --- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "path", "message"), [
    ({"quantity": 0}, ["lines", 0, "quantity"], "Number must be greater than 0"),
    ({"quantity": -5}, ["lines", 0, "quantity"], "Number must be greater than 0"),
    ({"quantity": 1.2345}, ["lines", 0, "quantity"], "Number must have at most 3 decimal places"),
    ({"unit_price": 26.12345}, ["lines", 0, "unit_price"], "Number must have at most 4 decimal places"),
    ({"unit_price": -1}, ["lines", 0, "unit_price"], "Number must be greater than or equal to 0"),
])
async def test_invalid_line_is_a_validation_error_with_its_path(api, supervisor, session_factory, line, path, message):
    site = new_site(session_factory)
    body = delivery_body(site)
    body["lines"][0].update(line)
    response = await api.post(f"/api/locations/{site.location.uid}/deliveries", json=body, headers=supervisor.headers)
    data = error_of(response, 400, "VALIDATION_ERROR")
    assert response.json()["statusMessage"] == "Bad Request" and data["message"] == "Invalid request data"
    assert data["details"] == [{"path": path, "message": message}]


async def test_missing_fields_and_empty_lines_are_validation_errors(api, supervisor, session_factory):
    site = new_site(session_factory)
    url = f"/api/locations/{site.location.uid}/deliveries"
    response = await api.post(url, json={"status": "POSTED", "lines": []}, headers=supervisor.headers)
    paths = [d["path"] for d in error_of(response, 400, "VALIDATION_ERROR")["details"]]
    assert paths == [["supplier_id"], ["delivery_date"], ["lines"]]
    no_invoice = await post_delivery(api, supervisor, site, invoice_no="  ")
    assert error_of(no_invoice, 400, "VALIDATION_ERROR")["details"][0]["path"] == ["invoice_no"]


async def test_posting_needs_an_open_period(api, supervisor, session_factory):
    site = new_site(session_factory)
    uncovered = await post_delivery(api, supervisor, site, delivery_date="2299-06-15")
    assert error_of(uncovered, 400, "NO_OPEN_PERIOD")["details"] == {"date": "2299-06-15"}
    draft_period = seed_period(session_factory, status="DRAFT")
    not_open = await post_delivery(api, supervisor, site, delivery_date=draft_period.day(3))
    error_of(not_open, 400, "NO_OPEN_PERIOD")
    closed = seed_period(session_factory, status="CLOSED")
    data = error_of(await post_delivery(api, supervisor, site, delivery_date=closed.day(3)), 400, "PERIOD_CLOSED")
    assert data["details"]["status"] == "CLOSED"
    # a draft may be dated anywhere; posting it later meets the same rule
    draft = await delivered(api, supervisor, site, status="DRAFT", delivery_date=f"{closed.day(4)}T08:30:00.000Z")
    assert draft["delivery"]["delivery_date"] == closed.day(4)
    later = await api.patch(f"/api/deliveries/{draft['id']}", json={"status": "POSTED"}, headers=supervisor.headers)
    error_of(later, 400, "PERIOD_CLOSED")
    assert stock_of(session_factory, site) is None


async def test_duplicate_invoice_of_a_supplier_is_a_conflict(api, supervisor, session_factory):
    site = new_site(session_factory)
    invoice = unique("INV")
    first = await delivered(api, supervisor, site, invoice_no=invoice)
    again = await post_delivery(api, supervisor, site, invoice_no=invoice)
    data = error_of(again, 409, "DUPLICATE_ENTRY")
    assert data["details"]["invoice_no"] == invoice
    assert data["details"]["delivery_no"] == first["delivery"]["delivery_no"]
    draft = await delivered(api, supervisor, site, status="DRAFT", invoice_no=None)
    clash = await api.patch(f"/api/deliveries/{draft['id']}", json={"invoice_no": invoice}, headers=supervisor.headers)
    error_of(clash, 409, "DUPLICATE_ENTRY")
    other_supplier = seed_supplier(session_factory)
    assert (await post_delivery(api, supervisor, site, invoice_no=invoice,
                                supplier_id=other_supplier.uid)).status_code == 200
    assert stock_of(session_factory, site) == (Decimal(200), Decimal(26))


async def test_unknown_ids_are_not_found(api, supervisor, session_factory):
    site = new_site(session_factory)
    missing = str(uuid.uuid4())
    for path in (f"/api/deliveries/{missing}", "/api/deliveries/not-a-uuid", f"/api/locations/{missing}/deliveries"):
        error_of(await api.get(path, headers=supervisor.headers), 404, "NOT_FOUND")
    error_of(await api.patch(f"/api/deliveries/{missing}", json={}, headers=supervisor.headers), 404, "NOT_FOUND")
    error_of(await api.delete(f"/api/deliveries/{missing}", headers=supervisor.headers), 404, "NOT_FOUND")
    no_supplier = error_of(await post_delivery(api, supervisor, site, supplier_id=missing), 404, "NOT_FOUND")
    assert no_supplier["details"]["path"] == ["supplier_id"]
    body = delivery_body(site)
    body["lines"].append({"item_id": missing, "quantity": 1, "unit_price": 1})
    response = await api.post(f"/api/locations/{site.location.uid}/deliveries", json=body, headers=supervisor.headers)
    assert error_of(response, 404, "NOT_FOUND")["details"] == {"id": missing, "path": ["lines", 1, "item_id"]}
    assert stock_of(session_factory, site) is None


# --- reading -----------------------------------------------------------------------------------------------------

async def test_details_show_lines_and_ncrs(api, supervisor, session_factory):
    site = new_site(session_factory)
    posted = await delivered(api, supervisor, site)
    response = await api.get(f"/api/deliveries/{posted['id']}", headers=supervisor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in posted["delivery"]} == posted["delivery"]
    assert body["lines"] == posted["lines"]
    assert body["location"] == {"id": site.location.uid, "code": site.location.code, "name": "Kitchen"}
    assert body["supplier"]["id"] == site.supplier.uid and body["period"]["id"] == site.period.uid
    assert body["created_by"]["id"] and body["posted_by"]["username"] == supervisor.username
    [ncr] = body["ncrs"]
    assert ncr == {**posted["ncrs"][0], "status": "OPEN", "total_value": 100.0}


async def test_list_filters_and_pages(api, supervisor, session_factory):
    site = new_site(session_factory)
    other_supplier = seed_supplier(session_factory)
    await delivered(api, supervisor, site, day=3, unit_price=25.0)
    varied = await delivered(api, supervisor, site, day=10)
    draft = await delivered(api, supervisor, site, day=20, status="DRAFT", supplier_id=other_supplier.uid)
    url = f"/api/locations/{site.location.uid}/deliveries"

    async def ids(**params: Any) -> list[str]:
        response = await api.get(url, params=params, headers=supervisor.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert int(response.headers["X-Total-Count"]) == body["total"] >= len(body["deliveries"])
        return [row["id"] for row in body["deliveries"]]

    everything = await ids()
    assert len(everything) == 3 and everything[0] == draft["id"]  # newest delivery date first
    assert await ids(status="DRAFT") == [draft["id"]]
    assert await ids(supplierId=other_supplier.uid) == [draft["id"]]
    assert await ids(supplierId="nobody") == []
    assert await ids(hasVariance="true") == [varied["id"]]
    assert len(await ids(hasVariance="false")) == 2
    assert await ids(startDate=site.period.day(5), endDate=f"{site.period.day(15)}T23:59:59.000Z") == [varied["id"]]
    response = await api.get(url, params={"page": 2, "limit": 2}, headers=supervisor.headers)
    assert response.headers["X-Total-Count"] == "3"
    assert {k: v for k, v in response.json().items() if k != "deliveries"} == {"total": 3, "page": 2, "limit": 2}
    [row] = response.json()["deliveries"]
    assert row["supplier"]["id"] == site.supplier.uid and row["location"]["id"] == site.location.uid


# --- who may do what -----------------------------------------------------------------------------------------

async def test_operator_works_only_at_assigned_locations(api, make_user, session_factory):
    mine, theirs = new_site(session_factory), new_site(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, mine.location)
    assert (await post_delivery(api, operator, mine)).status_code == 200
    listed = await api.get(f"/api/locations/{mine.location.uid}/deliveries", headers=operator.headers)
    assert listed.status_code == 200 and len(listed.json()["deliveries"]) == 1

    other = await delivered(api, await make_user("ADMIN"), theirs, status="DRAFT")
    denied = [await post_delivery(api, operator, theirs),
              await api.get(f"/api/locations/{theirs.location.uid}/deliveries", headers=operator.headers),
              await api.get(f"/api/deliveries/{other['id']}", headers=operator.headers),
              await api.patch(f"/api/deliveries/{other['id']}", json={"delivery_note": "x"}, headers=operator.headers),
              await api.delete(f"/api/deliveries/{other['id']}", headers=operator.headers)]
    for response in denied:
        assert error_of(response, 403, "LOCATION_ACCESS_DENIED")["details"] == {"location": theirs.location.code}
    assert stock_of(session_factory, theirs) is None


@pytest.mark.parametrize("role", ["SUPERVISOR", "ADMIN"])
async def test_supervisor_and_admin_work_everywhere(api, make_user, session_factory, role):
    site = new_site(session_factory)
    user = await make_user(role)
    posted = await delivered(api, user, site)
    assert (await api.get(f"/api/deliveries/{posted['id']}", headers=user.headers)).status_code == 200
    assert (await api.get(f"/api/locations/{site.location.uid}/deliveries", headers=user.headers)).status_code == 200


async def test_roles_without_stock_permissions_and_anonymous_callers_are_refused(api, make_user, session_factory):
    site = new_site(session_factory)
    viewer = await make_user("viewer")
    error_of(await post_delivery(api, viewer, site), 403, "INSUFFICIENT_PERMISSIONS")
    error_of(await api.get(f"/api/locations/{site.location.uid}/deliveries", headers=viewer.headers), 403,
             "INSUFFICIENT_PERMISSIONS")
    anonymous = await api.post(f"/api/locations/{site.location.uid}/deliveries", json=delivery_body(site))
    error_of(anonymous, 401, "NOT_AUTHENTICATED")
    error_of(await api.get(f"/api/locations/{site.location.uid}/deliveries"), 401, "NOT_AUTHENTICATED")
