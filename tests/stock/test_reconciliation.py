"""Reconciliation (stock contract §13): the contract's example figures rebuilt from real movements."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from core.db import session_scope
from core.timeutil import UTC
from dto.stock import SnapshotChunk
from models.quality import NonConformance
from models.stock import Period, PobEntry
from services.stock import ledger as stock_ledger
from services.stock.ledger import Movement
from services.stock.periods import close as stock_period_close
from tests.conftest import unique
from tests.stock.helpers import PeriodRef, Ref, assign, seed_item, seed_location, seed_period
from worker import ACTIVITY_THREAD_PREFIX

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


# --- many locations at once: the consolidated rows are the per-location rows, in a constant number of queries ---

def pob(factory, location: Ref, period: PeriodRef, days: range, crew: int, extra: int = 0) -> None:
    with session_scope(factory) as session:
        for day in days:
            session.add(PobEntry(location_id=location.id, period_id=period.id, entry_date=period.date(day),
                                 crew_count=crew, extra_count=extra))


def credited_ncr(factory, location: Ref, value: str, at: datetime) -> None:
    with session_scope(factory) as session:
        session.add(NonConformance(ncr_number=unique("NCR"), kind="manual", status="CREDITED", title="Short",
                                   location_id=location.id, credited_value=Decimal(value), credited_at=at))


def close_with_snapshot(factory, period: PeriodRef, locations: list[Ref]) -> None:
    """CLOSED with the closing snapshot of these locations (one whole location per chunk), as a close leaves it."""
    with session_scope(factory) as session:
        row = session.get_one(Period, period.id)
        row.status = "PENDING_CLOSE"
        session.flush()
        for location in locations:
            stock_period_close.snapshot_chunk(session, SnapshotChunk(period_uid=period.uid,
                                                                     after_location_id=location.id - 1, limit=1))
        row.status = "CLOSED"


async def rows_by_location(api, user, period: PeriodRef, locations: list[Ref]) -> dict[str, dict[str, Any]]:
    """The consolidated rows (every location the user sees), checked against one request per location."""
    response = await api.get("/api/reconciliations/consolidated", params={"periodId": period.uid},
                             headers=user.headers)
    assert response.status_code == 200, response.text
    rows = response.json()["reconciliations"]
    assert [row["location"]["code"] for row in rows] == sorted(location.code for location in locations)
    for location in locations:
        alone = await api.get("/api/reconciliations/consolidated",
                              params={"periodId": period.uid, "locationId": location.uid}, headers=user.headers)
        assert alone.status_code == 200, alone.text
        assert alone.json()["reconciliations"] == [row for row in rows if row["location"]["id"] == location.uid]
    return {row["location"]["id"]: row for row in rows}


def figures_of(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "location"}


NOTHING = {"opening_stock": 0.0, "receipts": 0.0, "transfers_in": 0.0, "transfers_out": 0.0, "issues": 0.0,
           "closing_stock": 0.0, "back_charges": 0.0, "credits": 0.0, "ncr_credits": 0.0, "condemnations": 0.0,
           "adjustments": 0.0, "consumption": 0.0, "total_adjustments": 0.0, "total_mandays": 0,
           "manday_cost": None, "is_confirmed": False}


async def test_the_consolidated_rows_are_the_rows_of_each_location(api, make_user, session_factory):
    a, b, c, idle = (seed_location(session_factory) for _ in range(4))
    item = seed_item(session_factory)
    period = seed_period(session_factory, locations=[a, b, c, idle])
    # a: 100 @ 10 before the period, 100 @ 12 received (wac 11), 40 issued, 20 sent to b; 10 more after the end
    move(session_factory, a, item, "OPENING", "100", period.start - timedelta(days=1), cost="10")
    move(session_factory, a, item, "RECEIPT", "100", period.date(2), cost="12")
    move(session_factory, a, item, "ISSUE", "40", period.date(5), cost=None)
    move(session_factory, a, item, "TRANSFER_OUT", "20", period.date(6), cost=None)
    move(session_factory, a, item, "RECEIPT", "10", period.end + timedelta(days=3), cost="11")
    pob(session_factory, a, period, range(1, 11), crew=8, extra=2)
    # b: 10 @ 11 received, the 20 @ 11 from a, 15 issued; an NCR credited on the period's last evening
    move(session_factory, b, item, "RECEIPT", "10", period.date(2), cost="11")
    move(session_factory, b, item, "TRANSFER_IN", "20", period.date(6), cost="11")
    move(session_factory, b, item, "ISSUE", "15", period.date(8), cost=None)
    credited_ncr(session_factory, b, "25", datetime.combine(period.end, time(23, 30), UTC))
    credited_ncr(session_factory, b, "10", datetime.combine(period.end + timedelta(days=1), time(0, 30), UTC))
    # c: opening stock entered in the period, a ledger adjustment, an issue (all at 5)
    move(session_factory, c, item, "OPENING", "10", period.date(1), cost="5")
    move(session_factory, c, item, "ADJUSTMENT", "2", period.date(3), cost="5")
    move(session_factory, c, item, "ISSUE", "4", period.date(4), cost=None)
    pob(session_factory, c, period, range(1, 3), crew=3)
    supervisor, operator = await make_user("SUPERVISOR"), await make_user("OPERATOR")
    assign(session_factory, operator.id, a, b, c, idle)
    saved = await api.post("/api/reconciliations", headers=supervisor.headers, json={
        "periodId": period.uid, "locationId": a.uid, "back_charges": 100, "credits": 50, "condemnations": 30,
        "adjustments": 10, "is_confirmed": True})
    assert saved.status_code == 200, saved.text

    opened = await rows_by_location(api, operator, period, [a, b, c, idle])

    expected_a = {**NOTHING, "opening_stock": 1000.0, "receipts": 1200.0, "transfers_out": 220.0, "issues": 440.0,
                  "closing_stock": 1540.0, "back_charges": 100.0, "credits": 50.0, "condemnations": 30.0,
                  "adjustments": 10.0, "consumption": 400.0, "total_adjustments": 70.0, "total_mandays": 100,
                  "manday_cost": 4.0, "is_confirmed": True}
    expected_b = {**NOTHING, "receipts": 110.0, "transfers_in": 220.0, "issues": 165.0, "closing_stock": 165.0,
                  "credits": 25.0, "ncr_credits": 25.0, "consumption": 190.0, "total_adjustments": -25.0}
    expected_c = {**NOTHING, "opening_stock": 50.0, "issues": 20.0, "closing_stock": 40.0, "consumption": 10.0,
                  "total_mandays": 6, "manday_cost": 1.67}
    assert figures_of(opened[a.uid]) == expected_a
    assert figures_of(opened[b.uid]) == expected_b
    assert figures_of(opened[c.uid]) == expected_c
    assert figures_of(opened[idle.uid]) == NOTHING
    assert opened[a.uid]["location"] == {"id": a.uid, "code": a.code, "name": "Kitchen"}

    # CLOSED: the closing stock is the snapshot's, even when a receipt is back-dated into the period afterwards
    close_with_snapshot(session_factory, period, [a, b, c, idle])
    move(session_factory, a, item, "RECEIPT", "10", period.date(20), cost="11")

    closed = await rows_by_location(api, operator, period, [a, b, c, idle])

    assert figures_of(closed[a.uid]) == {**expected_a, "receipts": 1310.0, "consumption": 510.0, "manday_cost": 5.1}
    assert figures_of(closed[b.uid]) == expected_b
    assert figures_of(closed[c.uid]) == expected_c
    assert figures_of(closed[idle.uid]) == NOTHING  # no snapshot rows: the ledger's (nothing)

    # the next period opens from the snapshot (a location without snapshot rows from nothing)
    successor = seed_period(session_factory, locations=[a, b, c, idle])
    assert successor.start == period.end + timedelta(days=1)
    with session_scope(session_factory) as session:
        session.get_one(Period, successor.id).previous_period_id = period.id

    following = await rows_by_location(api, operator, successor, [a, b, c, idle])

    assert figures_of(following[a.uid]) == {**NOTHING, "opening_stock": 1540.0, "receipts": 110.0,
                                            "closing_stock": 1650.0}
    assert figures_of(following[b.uid]) == {**NOTHING, "opening_stock": 165.0, "closing_stock": 165.0,
                                            "credits": 10.0, "ncr_credits": 10.0, "consumption": 10.0,
                                            "total_adjustments": -10.0}
    assert figures_of(following[c.uid]) == {**NOTHING, "opening_stock": 40.0, "closing_stock": 40.0}
    assert figures_of(following[idle.uid]) == NOTHING


@contextmanager
def counted_statements(engine) -> Iterator[list[str]]:
    """The statements the API runs meanwhile; those of the in-process worker's activities are not counted."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if not threading.current_thread().name.startswith(ACTIVITY_THREAD_PREFIX):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_consolidated_reconciliation_queries_do_not_grow_with_the_locations(api, make_user, engine,
                                                                                    session_factory):
    locations = [seed_location(session_factory) for _ in range(6)]
    item = seed_item(session_factory)
    period = seed_period(session_factory, locations=locations)
    for n, location in enumerate(locations, start=1):
        move(session_factory, location, item, "OPENING", "10", period.start - timedelta(days=1), cost="5")
        move(session_factory, location, item, "RECEIPT", str(n), period.date(2), cost="5")
        move(session_factory, location, item, "ISSUE", "1", period.date(3), cost=None)
        pob(session_factory, location, period, range(1, 3), crew=n)
    credited_ncr(session_factory, locations[0], "5", datetime.combine(period.date(4), time(12), UTC))
    supervisor, operator = await make_user("SUPERVISOR"), await make_user("OPERATOR")
    saved = await api.post("/api/reconciliations", headers=supervisor.headers,
                           json={"periodId": period.uid, "locationId": locations[1].uid, "back_charges": 10})
    assert saved.status_code == 200, saved.text

    async def statements_of_a_request(path: str, rows: str, expected_rows: int) -> int:
        with counted_statements(engine) as statements:
            response = await api.get(path, params={"periodId": period.uid}, headers=operator.headers)
        assert response.status_code == 200, response.text
        assert len(response.json()[rows]) == expected_rows
        return len(statements)

    consolidated, report = ("/api/reconciliations/consolidated", "reconciliations"), ("/api/reports/reconciliation",
                                                                                      "rows")
    assign(session_factory, operator.id, *locations[:2])
    with_two = [await statements_of_a_request(*consolidated, 2), await statements_of_a_request(*report, 2)]
    assign(session_factory, operator.id, *locations[2:])
    with_six = [await statements_of_a_request(*consolidated, 6), await statements_of_a_request(*report, 6)]

    # (consolidated, report) statements of a request: 9 and 9 for 2 or 6 locations (were 26 and 70: 4 + 11 each)
    assert with_two == with_six, f"2 locations: {with_two} statements, 6 locations: {with_six}"
