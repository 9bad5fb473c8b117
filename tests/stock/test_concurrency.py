"""Stock documents under concurrent callers, through the API: the stock row lock serializes every movement of
an item at a location, so stock never goes negative, every ledger row carries the balance and WAC its
movement produced, and a supplier's invoice is recorded once however many posts race for it. Document
numbers are taken last in a posting: postings at different locations do not wait for each other's stock
work, numbers stay consecutive and follow the commits, and a refused posting consumes none."""

import asyncio
import re
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.db import session_scope
from core.timeutil import utcnow
from models.audit import AuditEntry
from models.quality import NonConformance
from models.stock import Delivery, LocationStock, StockIssue
from services.stock.ledger import line_value, weighted_average
from tests.conftest import MakeUser, eventually, unique
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import seed_item, seed_location, seed_stock
from tests.stock.test_deliveries import delivered, error_of, ledger_of, new_site, post_delivery, stock_of
from tests.stock.test_issues import issue_body, post_issue


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


async def test_twenty_concurrent_issues_of_the_last_units_never_overdraw(api, supervisor, session_factory):
    site = new_site(session_factory)
    await delivered(api, supervisor, site, quantity=10, unit_price=5.0, day=1)
    responses = await asyncio.gather(*[post_issue(api, supervisor, site, 1.5, day=2) for _ in range(20)])

    # 10 on hand: six issues of 1.5 fit (9), the other fourteen find 1 left
    assert Counter(r.status_code for r in responses) == {200: 6, 400: 14}, [r.text for r in responses]
    refused = [error_of(r, 400, "INSUFFICIENT_STOCK") for r in responses if r.status_code == 400]
    assert all((d["details"]["requested"], d["details"]["available"]) == (1.5, 1.0) for d in refused)
    issued = sum(Decimal(str(r.json()["lines"][0]["quantity"])) for r in responses if r.status_code == 200)
    assert issued == Decimal(9) <= Decimal(10)
    assert all(r.json()["issue"]["total_value"] == 7.5 for r in responses if r.status_code == 200)

    rows = ledger_of(session_factory, site)
    assert [r.balance_on_hand for r in rows] == [Decimal(n) / 2 for n in (20, 17, 14, 11, 8, 5, 2)]
    assert all(r.balance_on_hand >= 0 for r in rows)
    assert stock_of(session_factory, site) == (rows[-1].balance_on_hand, Decimal(5)) == (Decimal(1), Decimal(5))
    numbers = sorted(r.json()["issue"]["issue_no"] for r in responses if r.status_code == 200)
    sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert sequence == list(range(sequence[0], sequence[0] + 6))  # refused issues leave no gap
    with session_scope(session_factory) as session:
        stored = session.scalars(select(StockIssue).where(StockIssue.location_id == site.location.id)).all()
        assert len(stored) == 6


async def test_racing_posts_of_one_invoice_record_it_once(api, supervisor, session_factory):
    site = new_site(session_factory)
    invoice = unique("INV")
    responses = await asyncio.gather(*[post_delivery(api, supervisor, site, quantity=10, unit_price=25.0,
                                                     invoice_no=invoice) for _ in range(8)])
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 7}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert error_of(response, 409, "DUPLICATE_ENTRY")["details"]["invoice_no"] == invoice
    assert stock_of(session_factory, site) == (Decimal(10), Decimal(25))
    assert len(ledger_of(session_factory, site)) == 1


async def test_concurrent_deliveries_and_issues_keep_the_ledger_exact(api, supervisor, session_factory):
    site = new_site(session_factory, price=None)
    await delivered(api, supervisor, site, quantity=20, unit_price=10.0, day=1)
    prices = [round(10 + n * 0.37, 2) for n in range(10)]
    calls = ([post_delivery(api, supervisor, site, quantity=5, unit_price=price, day=2) for price in prices]
             + [post_issue(api, supervisor, site, 4, day=3) for _ in range(15)])
    responses = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in responses[:10]), [r.text for r in responses[:10]]
    refused = [r for r in responses[10:] if r.status_code != 200]
    assert all(error_of(r, 400, "INSUFFICIENT_STOCK") for r in refused)

    # replaying the ledger in its order gives every row's balance and WAC
    on_hand, wac = Decimal(0), Decimal(0)
    for row in ledger_of(session_factory, site):
        if row.quantity > 0:
            wac = weighted_average(on_hand, wac, row.quantity, row.unit_cost)
        else:
            assert row.unit_cost == wac and row.value == line_value(row.quantity, wac)
        on_hand += row.quantity
        assert (row.balance_on_hand, row.balance_wac) == (on_hand, wac) and on_hand >= 0
    issued = 4 * (15 - len(refused))
    assert on_hand == 20 + 50 - issued and stock_of(session_factory, site) == (on_hand, wac)


async def test_a_draft_posted_by_racing_edits_is_received_once(api, supervisor, session_factory):
    site = new_site(session_factory)
    draft = (await post_delivery(api, supervisor, site, status="DRAFT", quantity=12, unit_price=26.0)).json()
    responses = await asyncio.gather(*[api.patch(f"/api/deliveries/{draft['id']}", json={"status": "POSTED"},
                                                 headers=supervisor.headers) for _ in range(6)])
    assert Counter(r.status_code for r in responses) == {200: 1, 400: 5}, [r.text for r in responses]
    assert all(error_of(r, 400, "INVALID_STATUS") for r in responses if r.status_code == 400)
    assert [len(r.json()["ncrs"]) for r in responses if r.status_code == 200] == [1]
    assert stock_of(session_factory, site) == (Decimal(12), Decimal(26)) and len(ledger_of(session_factory, site)) == 1


# --- document numbers ----------------------------------------------------------------------------------------

def number_of(document_no: str, prefix: str) -> int:
    """The counter of a `PREFIX-YYYY-NNN` number of this year."""
    match = re.fullmatch(rf"{prefix}-(\d{{4}})-(\d{{3,}})", document_no)
    assert match is not None and int(match[1]) == utcnow().year, document_no
    return int(match[2])


def assert_consecutive(numbers: list[int]) -> None:
    assert len(set(numbers)) == len(numbers) and sorted(numbers) == list(range(min(numbers),
                                                                                min(numbers) + len(numbers))), numbers


def audit_of(session: Session, entity_type: str, entity_id: int) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == entity_type,
                                                    AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id))
    return {row.action_type: row.payload_diff for row in rows}


def manual_ncr_body(location_uid: str, *item_uids: str) -> dict[str, Any]:
    return {"location_id": location_uid, "reason": "Damaged in transit",
            "lines": [{"item_id": uid, "quantity": 1, "value": 5} for uid in item_uids]}


async def test_concurrent_postings_at_many_locations_take_consecutive_numbers_shown_everywhere(
        api, supervisor, session_factory):
    sites = [new_site(session_factory) for _ in range(8)]
    for site in sites:
        await delivered(api, supervisor, site, quantity=10, unit_price=25.0, day=1)  # at the period price: no NCR

    responses = await asyncio.gather(
        *[post_delivery(api, supervisor, site, quantity=5, unit_price=26.0, day=2) for site in sites],  # an NCR each
        *[post_issue(api, supervisor, site, 2, day=3) for site in sites],
        *[api.post("/api/ncrs", json=manual_ncr_body(site.location.uid, site.item.uid), headers=supervisor.headers)
          for site in sites[:4]])

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    deliveries, issues, manual = ([r.json() for r in responses[:8]], [r.json() for r in responses[8:16]],
                                  [r.json() for r in responses[16:]])
    assert all(len(body["ncrs"]) == 1 for body in deliveries)
    assert_consecutive([number_of(body["delivery"]["delivery_no"], "DEL") for body in deliveries])
    assert_consecutive([number_of(body["issue"]["issue_no"], "ISS") for body in issues])
    # variance NCRs and manual NCRs share the NCR sequence
    assert_consecutive([number_of(body["ncrs"][0]["ncr_no"], "NCR") for body in deliveries]
                       + [number_of(body["ncr_no"], "NCR") for body in manual])

    with session_scope(session_factory) as session:
        for body in deliveries:
            number, [raised] = body["delivery"]["delivery_no"], body["ncrs"]
            stored = session.scalars(select(Delivery).where(Delivery.uid == uuid.UUID(body["id"]))).one()
            ncr = session.scalars(select(NonConformance).where(NonConformance.uid == uuid.UUID(raised["id"]))).one()
            assert (stored.delivery_no, ncr.ncr_number) == (number, raised["ncr_no"])
            assert ncr.title.endswith(f"({number})")
            logged = audit_of(session, "delivery", stored.id)
            assert logged["DELIVERY_CREATED"]["delivery_no"]["new"] == number
            assert logged["DELIVERY_POSTED"]["ncrs"]["new"] == [ncr.ncr_number]
            ncr_logged = audit_of(session, "ncr", ncr.id)["NCR_RAISED"]
            assert (ncr_logged["ncr_no"]["new"], ncr_logged["delivery_no"]["new"]) == (ncr.ncr_number, number)
        for body in issues:
            issue = session.scalars(select(StockIssue).where(StockIssue.uid == uuid.UUID(body["issue"]["id"]))).one()
            logged = audit_of(session, "issue", issue.id)
            assert issue.issue_no == body["issue"]["issue_no"] == logged["ISSUE_POSTED"]["issue_no"]["new"]
        for body in manual:
            ncr = session.scalars(select(NonConformance).where(NonConformance.uid == uuid.UUID(body["id"]))).one()
            logged = audit_of(session, "ncr", ncr.id)
            assert ncr.ncr_number == body["ncr_no"] == logged["NCR_RAISED"]["ncr_number"]["new"]


async def test_a_posting_refused_on_its_last_line_consumes_no_number(api, supervisor, session_factory):
    site = new_site(session_factory, price=None)
    await delivered(api, supervisor, site, quantity=10, unit_price=5.0, day=1)
    scarce = seed_item(session_factory, name="Saffron", unit="G")
    seed_stock(session_factory, site.location, scarce, "1", "8.00", site.period.start)
    destination = seed_location(session_factory, "STORE", "Store")

    async def issue(scarce_quantity: float) -> Any:
        lines = [{"item_id": site.item.uid, "quantity": 2}, {"item_id": scarce.uid, "quantity": scarce_quantity}]
        return await api.post(f"/api/locations/{site.location.uid}/issues", headers=supervisor.headers,
                              json=issue_body(site, 2, day=2) | {"lines": lines})

    async def transfer(scarce_quantity: float) -> Any:
        return await api.post("/api/transfers", headers=supervisor.headers, json={
            "from_location_id": site.location.uid, "to_location_id": destination.uid,
            "request_date": site.period.day(3),
            "lines": [{"item_id": site.item.uid, "quantity": 1}, {"item_id": scarce.uid, "quantity": scarce_quantity}]})

    async def manual_ncr(*item_uids: str) -> Any:
        return await api.post("/api/ncrs", json=manual_ncr_body(site.location.uid, *item_uids),
                              headers=supervisor.headers)

    first, refused, then = await issue(0.25), await issue(5), await issue(0.25)
    assert error_of(refused, 400, "INSUFFICIENT_STOCK")["details"]["item"] == "Saffron"
    assert number_of(then.json()["issue"]["issue_no"], "ISS") == number_of(first.json()["issue"]["issue_no"], "ISS") + 1
    assert stock_of(session_factory, site) == (Decimal(6), Decimal(5))  # the refused issue moved nothing

    first, refused, then = await transfer(0.25), await transfer(5), await transfer(0.25)
    assert error_of(refused, 400, "INSUFFICIENT_STOCK")["details"]["item"] == "Saffron"
    assert (number_of(then.json()["transfer"]["transfer_no"], "TRF")
            == number_of(first.json()["transfer"]["transfer_no"], "TRF") + 1)

    first, refused, then = (await manual_ncr(site.item.uid), await manual_ncr(site.item.uid, str(uuid.uuid4())),
                            await manual_ncr(site.item.uid))
    assert error_of(refused, 404, "NOT_FOUND")["details"]["path"] == ["lines", 1, "item_id"]
    assert number_of(then.json()["ncr_no"], "NCR") == number_of(first.json()["ncr_no"], "NCR") + 1


async def test_a_posting_waiting_for_a_stock_row_holds_up_no_other_posting(api, supervisor, session_factory):
    waiting_site, free_site = new_site(session_factory), new_site(session_factory)
    for site in (waiting_site, free_site):
        await delivered(api, supervisor, site, quantity=10, unit_price=25.0, day=1)

    holder = session_factory()  # holds the waiting site's stock row, as a long posting there would
    try:
        holder.execute(select(LocationStock).where(LocationStock.location_id == waiting_site.location.id)
                       .with_for_update()).all()
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        waiting = asyncio.create_task(post_delivery(api, supervisor, waiting_site, quantity=1, unit_price=25.0,
                                                    day=2))

        def blocked_by_holder() -> bool:
            with session_scope(session_factory) as probe:
                return bool(probe.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                              "WHERE :holder = ANY(pg_blocking_pids(pid))"), {"holder": holder_pid}))

        await eventually(blocked_by_holder)
        # the delivery waiting for its stock row holds no number: postings elsewhere go through meanwhile
        passing = await asyncio.wait_for(post_delivery(api, supervisor, free_site, quantity=1, unit_price=25.0,
                                                       day=2), timeout=20)
        issue = await asyncio.wait_for(post_issue(api, supervisor, free_site, 1, day=3), timeout=20)
        assert (passing.status_code, issue.status_code) == (200, 200), (passing.text, issue.text)
        assert not waiting.done()
    finally:
        holder.rollback()
        holder.close()

    overtaken = await waiting
    assert overtaken.status_code == 200, overtaken.text
    # numbered at its end, so after the delivery that committed first
    assert (number_of(overtaken.json()["delivery"]["delivery_no"], "DEL")
            == number_of(passing.json()["delivery"]["delivery_no"], "DEL") + 1)
