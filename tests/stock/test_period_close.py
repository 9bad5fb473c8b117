"""Closing a period (stock contract §3, issue 4 §4): a lifecycle `period-close-{uid}` with a PERIOD_CLOSE
approval, a chunked, resumable snapshot of the closing stock, and roll-forward."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from temporalio.client import WorkflowExecutionStatus

from core.db import session_scope
from dto.stock import SnapshotChunk
from models.stock import Location, LocationStock, Period, PeriodClosingStock, PeriodLocation, PeriodPrice
from services.stock.periods import close as stock_period_close
from tests.stock.helpers import PeriodRef, Ref, fresh_month, seed_item, seed_location, seed_period, seed_stock
from workflows.stock.period_close import period_close_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


def mark_all_ready(factory: Any, period: PeriodRef, *, except_for: Ref | None = None) -> None:
    """Every active location READY for the period (the test database holds other tests' locations too)."""
    with session_scope(factory) as session:
        for location_id in session.scalars(select(Location.id).where(Location.is_active.is_(True))):
            if except_for is not None and location_id == except_for.id:
                continue
            row = session.scalars(select(PeriodLocation).filter_by(period_id=period.id,
                                                                   location_id=location_id)).first()
            if row is None:
                session.add(PeriodLocation(period_id=period.id, location_id=location_id, status="READY"))
            else:
                row.status = "READY"


def period_row(factory: Any, period: PeriodRef) -> dict[str, Any]:
    with session_scope(factory) as session:
        row = session.get(Period, period.id)
        assert row is not None
        return {"status": row.status, "done": row.close_locations_done, "total": row.close_locations_total}


async def until(predicate: Any, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.1)


@pytest.fixture
async def stocked(session_factory) -> tuple[Ref, Ref, PeriodRef]:
    kitchen, item = seed_location(session_factory), seed_item(session_factory)
    period = seed_period(session_factory, locations=[kitchen])
    seed_stock(session_factory, kitchen, item, "100", "25.50", period.start)
    seed_stock(session_factory, kitchen, item, "50", "28.50", period.date(10))  # wac (2550 + 1425)/150 = 26.50
    return kitchen, item, period


def close_directly(factory: Any, period: PeriodRef) -> None:
    """Closed, with its snapshot, as the close leaves it."""
    with session_scope(factory) as session:
        row = session.get(Period, period.id)
        assert row is not None
        row.status = "PENDING_CLOSE"
        session.flush()
        stock_period_close.snapshot_chunk(session, SnapshotChunk(period_uid=period.uid, after_location_id=0,
                                                                 limit=100_000))
        row.status = "CLOSED"


async def close(api, period: PeriodRef, user) -> Any:
    return await api.post(f"/api/periods/{period.uid}/close", json={"closing_notes": "All locations reconciled"},
                          headers=user.headers)


async def test_close_needs_every_location_ready_and_lists_the_ones_that_are_not(api, admin, stocked,
                                                                              session_factory):
    kitchen, _, period = stocked
    mark_all_ready(session_factory, period, except_for=kitchen)

    response = await close(api, period, admin)

    assert response.status_code == 400, response.text
    data = response.json()["data"]
    assert data["code"] == "INVALID_STATUS"
    assert [loc["code"] for loc in data["details"]["locations_not_ready"]] == [kitchen.code]
    assert period_row(session_factory, period)["status"] == "OPEN"


async def test_an_approved_close_snapshots_the_closing_stock_and_closes(api, admin, make_user, stocked,
                                                                       session_factory):
    kitchen, item, period = stocked
    mark_all_ready(session_factory, period)
    requested = await close(api, period, admin)
    assert requested.status_code == 200, requested.text
    assert requested.json()["period"]["status"] == "PENDING_CLOSE"
    approval_id = requested.json()["approval_id"]

    blocked = await api.post("/api/transfers", headers=admin.headers, json={
        "from_location_id": kitchen.uid, "to_location_id": seed_location(session_factory).uid,
        "request_date": period.day(20), "lines": [{"item_id": item.uid, "quantity": 1}]})
    assert blocked.status_code == 400 and blocked.json()["data"]["code"] == "PERIOD_CLOSED"
    assert (await close(api, period, admin)).status_code == 409
    own = await api.patch(f"/api/approvals/{approval_id}/approve", headers=admin.headers)
    assert own.status_code == 403, "the requesting admin may not approve their own close"
    supervisor = await make_user("SUPERVISOR")
    assert (await api.patch(f"/api/approvals/{approval_id}/approve", headers=supervisor.headers)).status_code == 403

    second_admin = await make_user("ADMIN")
    approved = await api.patch(f"/api/approvals/{approval_id}/approve", json={"comments": "checked"},
                               headers=second_admin.headers)

    assert approved.status_code == 200, approved.text
    await until(lambda: period_row(session_factory, period)["status"] == "CLOSED")
    row = period_row(session_factory, period)
    assert row["done"] == row["total"] > 0
    with session_scope(session_factory) as session:
        snap = session.scalars(select(PeriodClosingStock).filter_by(period_id=period.id, location_id=kitchen.id,
                                                                    item_id=item.id)).one()
        assert (snap.on_hand, snap.wac, snap.value) == (Decimal("150.000"), Decimal("26.5000"), Decimal("3975.00"))
        stock_rows = session.scalar(select(func.count()).select_from(LocationStock))
        snapshots = session.scalar(select(func.count()).select_from(PeriodClosingStock).filter_by(period_id=period.id))
        assert snapshots == stock_rows, "one snapshot row per location and item"


async def test_a_rejected_close_reopens_the_period(api, admin, make_user, stocked, session_factory):
    _, _, period = stocked
    mark_all_ready(session_factory, period)
    approval_id = (await close(api, period, admin)).json()["approval_id"]

    rejected = await api.patch(f"/api/approvals/{approval_id}/reject", json={"comments": "Rejected - recount"},
                               headers=(await make_user("ADMIN")).headers)

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["approval"]["status"] == "REJECTED"
    await until(lambda: period_row(session_factory, period)["status"] == "OPEN")
    assert (await close(api, period, admin)).status_code == 200, "a reopened period can be closed again"


async def test_only_admins_close_and_roll_forward(api, make_user, stocked):
    _, _, period = stocked
    for role in ("OPERATOR", "SUPERVISOR"):
        user = await make_user(role)
        assert (await close(api, period, user)).status_code == 403
        forward = await api.post(f"/api/periods/{period.uid}/roll-forward", headers=user.headers)
        assert forward.status_code == 403 and forward.json()["data"]["code"] == "INSUFFICIENT_PERMISSIONS"


async def test_roll_forward_opens_the_next_month_once(api, admin, stocked, session_factory):
    kitchen, item, period = stocked
    early = await api.post(f"/api/periods/{period.uid}/roll-forward", headers=admin.headers)
    assert early.status_code == 400 and early.json()["data"]["code"] == "INVALID_STATUS"
    fresh_month()  # the month the roll-forward creates: no other test takes it
    close_directly(session_factory, period)

    response = await api.post(f"/api/periods/{period.uid}/roll-forward", json={"copyPrices": True},
                              headers=admin.headers)

    assert response.status_code == 200, response.text
    successor = response.json()["period"]
    assert successor["status"] == "OPEN"
    assert successor["start_date"] == period.day(period.end.day + 1) and successor["end_date"].endswith(
        ("-28", "-29", "-30", "-31"))
    assert response.json()["opening_stock"]["total_value"] > 0
    twice = await api.post(f"/api/periods/{period.uid}/roll-forward", headers=admin.headers)
    assert twice.status_code == 409 and twice.json()["data"]["code"] == "DUPLICATE_ENTRY"


async def test_roll_forward_opens_the_next_month_prepared_as_a_draft(api, admin, stocked, session_factory):
    kitchen, item, period = stocked
    repriced = seed_item(session_factory)
    start, end = fresh_month()
    assert start == period.end + timedelta(days=1)
    draft = await api.post("/api/periods", json={"name": f"Prepared {uuid.uuid4().hex[:6]}",
                                                 "start_date": start.isoformat(), "end_date": end.isoformat()},
                           headers=admin.headers)
    assert draft.status_code == 200, draft.text
    with session_scope(session_factory) as session:
        draft_id = session.scalars(select(Period.id).where(Period.start_date == start)).one()
        session.add_all([PeriodPrice(period_id=period.id, item_id=item.id, price=Decimal("26.00")),
                         PeriodPrice(period_id=period.id, item_id=repriced.id, price=Decimal("10.00")),
                         PeriodPrice(period_id=draft_id, item_id=repriced.id, price=Decimal("12.00"))])
    close_directly(session_factory, period)

    response = await api.post(f"/api/periods/{period.uid}/roll-forward", json={"copyPrices": True},
                              headers=admin.headers)

    assert response.status_code == 200, response.text
    successor = response.json()["period"]
    assert (successor["id"], successor["status"]) == (draft.json()["id"], "OPEN")
    prices = await api.get(f"/api/periods/{successor['id']}/prices", headers=admin.headers)
    assert {p["item_id"]: p["price"] for p in prices.json()} == {item.uid: 26.0, repriced.uid: 12.0}, \
        "the closed period's prices fill in, the prepared ones stay"


async def test_roll_forward_into_a_month_another_period_holds_is_a_conflict(api, admin, stocked, session_factory):
    _, _, period = stocked
    taken = seed_period(session_factory)  # the next month, already OPEN
    assert taken.start == period.end + timedelta(days=1)
    close_directly(session_factory, period)

    response = await api.post(f"/api/periods/{period.uid}/roll-forward", headers=admin.headers)

    assert response.status_code == 409 and response.json()["data"]["code"] == "DUPLICATE_ENTRY", response.text
    assert response.json()["data"]["details"]["status"] == "OPEN"
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Period).where(
            Period.previous_period_id == period.id)) == 0


async def test_a_repeated_snapshot_chunk_inserts_nothing_twice(session_factory):
    kitchen, item = seed_location(session_factory), seed_item(session_factory)
    period = seed_period(session_factory, locations=[kitchen])
    seed_stock(session_factory, kitchen, item, "7", "2.00", period.start)
    chunk = SnapshotChunk(period_uid=period.uid, after_location_id=kitchen.id - 1, limit=1)
    for _ in range(2):
        with session_scope(session_factory) as session:
            progress = stock_period_close.snapshot_chunk(session, chunk)
    assert progress.last_location_id == kitchen.id
    with session_scope(session_factory) as session:
        rows = session.scalars(select(PeriodClosingStock).filter_by(period_id=period.id, location_id=kitchen.id)).all()
        assert [(r.on_hand, r.value) for r in rows] == [(Decimal("7.000"), Decimal("14.00"))]


async def test_a_close_survives_the_worker_stopping_midway(api, admin, make_user, stocked, session_factory,
                                                           service_worker, settings, monkeypatch):
    _, _, period = stocked
    with session_scope(session_factory) as session:  # the session's database holds every test's locations
        locations = session.scalar(select(func.count()).select_from(Location)) or 0
    # about 40 chunks of a few locations each, however many locations earlier tests left
    monkeypatch.setattr(settings, "period_close_chunk_size", max(1, locations // 40))
    mark_all_ready(session_factory, period)
    approval_id = (await close(api, period, admin)).json()["approval_id"]
    assert (await api.patch(f"/api/approvals/{approval_id}/approve",
                            headers=(await make_user("ADMIN")).headers)).status_code == 200

    await until(lambda: period_row(session_factory, period)["done"] > 0)
    await service_worker.stop()
    try:
        stopped_at = period_row(session_factory, period)
        assert stopped_at["status"] == "PENDING_CLOSE" and stopped_at["done"] < stopped_at["total"]
    finally:
        service_worker.start()

    await until(lambda: period_row(session_factory, period)["status"] == "CLOSED", timeout=120)
    with session_scope(session_factory) as session:
        stock_rows = session.scalar(select(func.count()).select_from(LocationStock))
        snapshots = session.scalar(select(func.count()).select_from(PeriodClosingStock).filter_by(period_id=period.id))
        assert snapshots == stock_rows


async def test_a_snapshot_the_database_refuses_waits_for_an_operator_without_retrying(
        api, admin, make_user, stocked, session_factory, temporal_client, monkeypatch):
    _, _, period = stocked
    attempts: list[str] = []

    def refused(session: Any, chunk: SnapshotChunk) -> Any:
        attempts.append(chunk.period_uid)
        session.execute(text("SELECT 'not a number'::integer"))  # a data error (SQLSTATE 22P02), as a bad row gives

    monkeypatch.setattr(stock_period_close, "snapshot_chunk", refused)
    mark_all_ready(session_factory, period)
    approval_id = (await close(api, period, admin)).json()["approval_id"]
    assert (await api.patch(f"/api/approvals/{approval_id}/approve",
                            headers=(await make_user("ADMIN")).headers)).status_code == 200
    handle = temporal_client.get_workflow_handle(period_close_workflow_id(period.uid))

    async def details() -> str:
        metadata = await handle.query("__temporal_workflow_metadata")
        return str(getattr(metadata, "current_details", "") or metadata)

    async with asyncio.timeout(30):
        while "needs an operator" not in await details():
            await asyncio.sleep(0.1)
    assert "closing stock snapshot failed" in await details()
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # visible, resettable; not failed
    assert attempts == [period.uid]  # once: the refusal is not retried
    assert period_row(session_factory, period)["status"] == "PENDING_CLOSE"
    await handle.terminate("test over")
