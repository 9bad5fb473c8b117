"""Stock documents under concurrent callers, through the API: the stock row lock serializes every movement of
an item at a location, so stock never goes negative, every ledger row carries the balance and WAC its
movement produced, and a supplier's invoice is recorded once however many posts race for it."""

import asyncio
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import session_scope
from models.stock import StockIssue
from services.stock_ledger import line_value, weighted_average
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.test_stock_deliveries import delivered, error_of, ledger_of, new_site, post_delivery, stock_of
from tests.test_stock_issues import post_issue


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
