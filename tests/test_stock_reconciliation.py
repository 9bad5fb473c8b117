"""Reconciliation (stock contract §13): the contract's example figures rebuilt from real movements."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.db import session_scope
from models.stock import PobEntry
from services import stock_ledger
from services.stock_ledger import Movement
from tests.stock_helpers import PeriodRef, Ref, seed_item, seed_location, seed_period

pytestmark = pytest.mark.asyncio(loop_scope="session")


def move(factory, location: Ref, item: Ref, kind: str, quantity: str, on, cost: str | None = "125") -> None:
    with session_scope(factory) as session:
        stock_ledger.apply(session, [Movement(location_id=location.id, item_id=item.id, movement_type=kind,
                                              quantity=Decimal(quantity), movement_date=on,
                                              unit_cost=Decimal(cost) if cost else None,
                                              source_key=f"test:{location.id}:{kind}:{quantity}:{on}")])


def contract_month(factory) -> tuple[Ref, PeriodRef]:
    """Everything at 125.00 a unit, so the values are the contract's: opening 125,000, receipts 45,000,
    transfers in 5,000 and out 3,000, issues 35,000 → closing 137,000; 20 days × 105 people = 2,100 mandays."""
    location, item = seed_location(factory), seed_item(factory)
    period = seed_period(factory, locations=[location])
    move(factory, location, item, "OPENING", "1000", period.start - timedelta(days=1))
    move(factory, location, item, "RECEIPT", "360", period.date(2))
    move(factory, location, item, "TRANSFER_IN", "40", period.date(3))
    move(factory, location, item, "TRANSFER_OUT", "24", period.date(4), cost=None)
    move(factory, location, item, "ISSUE", "280", period.date(5), cost=None)
    with session_scope(factory) as session:
        for day in range(1, 21):
            session.add(PobEntry(location_id=location.id, period_id=period.id, entry_date=period.date(day),
                                 crew_count=90, extra_count=15))
    return location, period


async def test_the_contract_example_reconciles(api, make_user, session_factory):
    location, period = contract_month(session_factory)
    supervisor = await make_user("SUPERVISOR")

    saved = await api.post("/api/reconciliations", headers=supervisor.headers, json={
        "periodId": period.uid, "locationId": location.uid, "back_charges": 1000.0, "credits": 500.0,
        "condemnations": 200.0, "adjustments": 0.0})

    assert saved.status_code == 200, saved.text
    assert saved.json()["success"] is True
    assert saved.json()["message"] == "Reconciliation adjustments saved successfully"
    assert saved.json()["calculations"] == {"consumption": 34500.0, "total_adjustments": 700.0}
    response = await api.get("/api/reconciliations/consolidated",
                             params={"periodId": period.uid, "locationId": location.uid}, headers=supervisor.headers)
    assert response.status_code == 200, response.text
    row = response.json()["reconciliations"][0]
    assert row | {"opening_stock": 125000.0, "receipts": 45000.0, "transfers_in": 5000.0, "transfers_out": 3000.0,
                  "issues": 35000.0, "closing_stock": 137000.0, "back_charges": 1000.0, "credits": 500.0,
                  "condemnations": 200.0, "adjustments": 0.0, "consumption": 34500.0, "total_mandays": 2100,
                  "manday_cost": 16.43} == row
    assert response.json()["grand_totals"]["consumption"] == 34500.0
    assert response.json()["period"] == {"id": period.uid, "name": response.json()["period"]["name"]}


async def test_without_mandays_the_manday_cost_is_null(api, admin, session_factory):
    location, item = seed_location(session_factory), seed_item(session_factory)
    period = seed_period(session_factory, locations=[location])
    move(session_factory, location, item, "RECEIPT", "10", period.date(1))

    response = await api.get("/api/reconciliations/consolidated",
                             params={"periodId": period.uid, "locationId": location.uid}, headers=admin.headers)

    row = response.json()["reconciliations"][0]
    assert row["total_mandays"] == 0 and row["manday_cost"] is None
    assert row["receipts"] == 1250.0 and row["closing_stock"] == 1250.0 and row["consumption"] == 0.0


async def test_reconciliation_rules(api, make_user, session_factory):
    location = seed_location(session_factory)
    period = seed_period(session_factory, locations=[location])
    operator = await make_user("OPERATOR")
    body = {"periodId": period.uid, "locationId": location.uid, "back_charges": 1}

    by_operator = await api.post("/api/reconciliations", json=body, headers=operator.headers)
    no_period = await api.get("/api/reconciliations/consolidated", headers=operator.headers)
    negative = await api.post("/api/reconciliations", json={**body, "credits": -5},
                              headers=(await make_user("ADMIN")).headers)

    assert by_operator.status_code == 403 and by_operator.json()["data"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert no_period.status_code == 400 and no_period.json()["data"]["details"][0]["path"] == ["periodId"]
    assert negative.status_code == 400 and negative.json()["data"]["details"][0]["path"] == ["credits"]


async def test_a_save_changes_only_the_figures_it_sends(api, make_user, session_factory):
    location, period = contract_month(session_factory)
    supervisor = await make_user("SUPERVISOR")
    where = {"periodId": period.uid, "locationId": location.uid}
    first = await api.post("/api/reconciliations", headers=supervisor.headers, json={
        **where, "back_charges": 1000.0, "credits": 500.0, "condemnations": 200.0})
    assert first.status_code == 200, first.text

    confirmed = await api.post("/api/reconciliations", headers=supervisor.headers,
                               json={**where, "is_confirmed": True})

    assert confirmed.status_code == 200, confirmed.text
    row = confirmed.json()["reconciliation"]
    assert (row["back_charges"], row["credits"], row["condemnations"], row["is_confirmed"]) == (
        1000.0, 500.0, 200.0, True)
    assert confirmed.json()["calculations"]["consumption"] == 34500.0
