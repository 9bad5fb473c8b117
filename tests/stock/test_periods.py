"""Stock periods (multi-location-stock.md §3, §4): the contract's examples as written, the current period,
details with readiness and close progress, DRAFT/OPEN edits, no overlaps, opening, prices (set, upsert,
copy from the previous period, frozen once CLOSED), locations marked ready and not ready, every error
code, the role matrix, OPERATOR location scoping and the audit rows."""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import AppError
from core.timeutil import utcnow
from models.stock import Location, Period, PeriodLocation, PeriodPrice
from services.stock.periods.periods import CURRENT, current_period
from services.stock.periods.readiness import readiness_counts
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import assign, fresh_month, seed_item, seed_location, seed_period
from tests.stock.test_items_suppliers import MISSING, audit_actions, error_of, invalid_paths, ok

PERIOD_FIELDS = {"id", "name", "status", "start_date", "end_date", "opened_at", "closed_at", "closing_notes",
                 "created_at", "updated_at"}
DETAIL_FIELDS = PERIOD_FIELDS | {"previous_period", "closed_by", "locations", "locations_ready", "locations_total",
                                 "prices_count", "close_locations_done", "close_locations_total"}
READINESS_FIELDS = {"id", "period_id", "location", "status", "ready_at", "ready_by"}


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


@pytest.fixture(scope="module")
async def operator(make_user: MakeUser) -> AppUser:
    return await make_user("OPERATOR")


def month_body(name: str | None = None) -> dict[str, Any]:
    start, end = fresh_month()
    return {"name": name or unique(f"{start:%b %Y}"), "start_date": start.isoformat(), "end_date": end.isoformat()}


async def new_period(api: httpx.AsyncClient, admin: AppUser, **fields: Any) -> dict[str, Any]:
    return ok(await api.post("/api/periods", json={**month_body(), **fields}, headers=admin.headers))


def period_id_of(factory: Any, uid: str) -> int:
    with session_scope(factory) as session:
        return int(session.scalars(select(Period.id).where(Period.uid == uuid.UUID(uid))).one())


def set_status(factory: Any, period_id: int, status: str) -> None:
    with session_scope(factory) as session:
        session.execute(update(Period).where(Period.id == period_id).values(status=status))


# --- create, list, get ------------------------------------------------------------------------------------

async def test_create_period_as_the_contract_shows(api, admin, session_factory):
    body = month_body()
    period = ok(await api.post("/api/periods", json=body, headers=admin.headers))
    assert set(period) == DETAIL_FIELDS
    assert {k: period[k] for k in body} == body and period["status"] == "DRAFT"
    assert period["opened_at"] is None and period["prices_count"] == 0 and period["locations_ready"] == 0
    assert period["close_locations_done"] == 0 and period["close_locations_total"] == 0
    assert ok(await api.get(f"/api/periods/{period['id']}", headers=admin.headers)) == period
    assert audit_actions(session_factory, "period", period_id_of(session_factory, period["id"])) == ["PERIOD_CREATED"]


async def test_dates_may_be_full_iso_datetimes(api, admin):
    start, end = fresh_month()
    period = await new_period(api, admin, start_date=f"{start.isoformat()}T00:00:00.000Z",
                              end_date=f"{end.isoformat()}T00:00:00.000Z")
    assert (period["start_date"], period["end_date"]) == (start.isoformat(), end.isoformat())


async def test_create_period_errors(api, admin, supervisor, operator):
    taken = await new_period(api, admin)
    error_of(await api.post("/api/periods", json=month_body(taken["name"]), headers=admin.headers), 409,
             "DUPLICATE_ENTRY")
    start, end = fresh_month()
    backwards = {"name": unique("P"), "start_date": end.isoformat(), "end_date": start.isoformat()}
    assert invalid_paths(await api.post("/api/periods", json=backwards, headers=admin.headers)) == [["end_date"]]
    overlapping = {"name": unique("P"), "start_date": taken["end_date"],
                   "end_date": (date.fromisoformat(taken["end_date"]) + timedelta(days=5)).isoformat()}
    data = error_of(await api.post("/api/periods", json=overlapping, headers=admin.headers), 400, "VALIDATION_ERROR")
    assert data["details"][0]["path"] == ["start_date"] and taken["name"] in data["details"][0]["message"]
    bad = await api.post("/api/periods", json={"name": "", "start_date": "2300-02-30"}, headers=admin.headers)
    assert sorted(invalid_paths(bad)) == [["end_date"], ["name"], ["start_date"]]
    for user in (supervisor, operator):
        error_of(await api.post("/api/periods", json=month_body(), headers=user.headers), 403,
                 "INSUFFICIENT_PERMISSIONS")
    error_of(await api.post("/api/periods", json=month_body()), 401, "NOT_AUTHENTICATED")


async def test_list_periods_newest_first_with_pagination(api, admin, operator, session_factory):
    older, newer = await new_period(api, admin), await new_period(api, admin)
    response = await api.get("/api/periods", params={"limit": 200}, headers=operator.headers)
    with session_scope(session_factory) as session:
        assert response.headers["X-Total-Count"] == str(session.scalar(select(func.count(Period.id))))
    periods = ok(response)
    assert all(set(p) == PERIOD_FIELDS for p in periods)
    starts = [p["start_date"] for p in periods]
    assert starts == sorted(starts, reverse=True)
    if len(periods) < 200:
        ids = [p["id"] for p in periods]
        assert ids.index(newer["id"]) < ids.index(older["id"])
    two = await api.get("/api/periods", params={"limit": 2, "page": 2}, headers=admin.headers)
    assert len(ok(two)) == 2 and [p["id"] for p in ok(two)] == [p["id"] for p in periods[2:4]]
    error_of(await api.get("/api/periods"), 401, "NOT_AUTHENTICATED")


async def test_unknown_or_malformed_period_is_not_found(api, admin):
    for period_id in (MISSING, "2026-01"):
        error_of(await api.get(f"/api/periods/{period_id}", headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.patch(f"/api/periods/{period_id}", json={"name": "x"}, headers=admin.headers), 404,
                 "NOT_FOUND")
        error_of(await api.post(f"/api/periods/{period_id}/open", headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.get(f"/api/periods/{period_id}/prices", headers=admin.headers), 404, "NOT_FOUND")
        error_of(await api.post(f"/api/periods/{period_id}/prices-copy", headers=admin.headers), 404, "NOT_FOUND")


# --- current ----------------------------------------------------------------------------------------------

async def test_current_period_as_the_contract_shows(api, operator, session_factory):
    location = seed_location(session_factory)
    period = seed_period(session_factory, locations=[location])
    body = ok(await api.get("/api/periods/current", headers=operator.headers))
    assert set(body) == {"id", "name", "status", "start_date", "end_date", "locations_ready", "locations_total"}
    today = utcnow().date()
    with session_scope(session_factory) as session:
        expected = current_period(session, today)
        assert body["id"] == str(expected.uid) and body["status"] in CURRENT
        assert (body["locations_ready"], body["locations_total"]) == readiness_counts(session, expected)
        covering = session.scalar(select(Period.id).where(Period.status == "OPEN", Period.start_date <= today,
                                                          Period.end_date >= today))
        later = session.scalar(select(Period.id).where(Period.status.in_(CURRENT), Period.start_date > period.start))
    if covering is None and later is None:
        assert body["id"] == period.uid and body["start_date"] == period.start.isoformat()
    error_of(await api.get("/api/periods/current"), 401, "NOT_AUTHENTICATED")


async def test_current_is_the_open_period_covering_today_else_the_latest(session_factory):
    covering, latest = seed_period(session_factory), seed_period(session_factory, status="PENDING_CLOSE")
    with session_scope(session_factory) as session:
        assert current_period(session, covering.start + timedelta(days=3)).id == covering.id
        newest = current_period(session, covering.start - timedelta(days=40))
        assert newest.start_date >= latest.start and newest.status in CURRENT


def test_no_current_period_is_not_found(session_factory):
    session = session_factory()
    try:  # every period out of OPEN / PENDING_CLOSE for one rolled-back transaction
        session.execute(update(Period).where(Period.status.in_(CURRENT)).values(status="DRAFT"))
        with pytest.raises(AppError) as raised:
            current_period(session, utcnow().date())
        assert (raised.value.code, raised.value.status) == ("NOT_FOUND", 404)
    finally:
        session.rollback()
        session.close()


# --- details, update, open --------------------------------------------------------------------------------

async def test_period_details_show_readiness_prices_and_close_progress(api, admin, session_factory):
    ready, waiting = seed_location(session_factory), seed_location(session_factory)
    item = seed_item(session_factory)
    period = seed_period(session_factory, locations=[ready, waiting], prices={item.id: Decimal("2")})
    ok(await api.patch("/api/period-locations/ready", json={"periodId": period.uid, "locationId": ready.uid},
                       headers=admin.headers))
    with session_scope(session_factory) as session:
        session.execute(update(Period).where(Period.id == period.id).values(close_locations_done=1,
                                                                            close_locations_total=3))
    body = ok(await api.get(f"/api/periods/{period.uid}", headers=admin.headers))
    assert set(body) == DETAIL_FIELDS and body["prices_count"] == 1
    assert (body["close_locations_done"], body["close_locations_total"]) == (1, 3)
    rows = {r["location"]["id"]: r for r in body["locations"]}
    assert all(set(r) == READINESS_FIELDS for r in body["locations"])
    assert rows[ready.uid]["status"] == "READY" and rows[ready.uid]["ready_by"]["username"] == admin.username
    assert rows[waiting.uid]["status"] == "NOT_READY" and rows[waiting.uid]["ready_at"] is None
    assert body["locations_total"] == len(body["locations"])
    assert body["locations_ready"] == sum(r["status"] == "READY" for r in body["locations"])


async def test_update_period_in_draft_and_open(api, admin, session_factory):
    period = await new_period(api, admin)
    start, end = fresh_month()
    moved = ok(await api.patch(f"/api/periods/{period['id']}", json={
        "name": unique("Renamed"), "start_date": start.isoformat(), "end_date": end.isoformat()},
        headers=admin.headers))
    assert (moved["start_date"], moved["end_date"]) == (start.isoformat(), end.isoformat())
    pk = period_id_of(session_factory, period["id"])
    set_status(session_factory, pk, "OPEN")
    renamed = ok(await api.patch(f"/api/periods/{period['id']}", json={"name": unique("Open")}, headers=admin.headers))
    assert renamed["status"] == "OPEN" and renamed["name"].startswith("Open")
    data = error_of(await api.patch(f"/api/periods/{period['id']}", json={"end_date": start.isoformat()},
                                    headers=admin.headers), 400, "INVALID_STATUS")
    assert data["details"]["status"] == "OPEN"
    for status in ("PENDING_CLOSE", "CLOSED"):
        set_status(session_factory, pk, status)
        error_of(await api.patch(f"/api/periods/{period['id']}", json={"name": unique("x")}, headers=admin.headers),
                 400, "INVALID_STATUS")
    assert audit_actions(session_factory, "period", pk) == ["PERIOD_CREATED", "PERIOD_UPDATED", "PERIOD_UPDATED"]


async def test_update_period_errors(api, admin, supervisor):
    first, second = await new_period(api, admin), await new_period(api, admin)
    url = f"/api/periods/{second['id']}"
    data = error_of(await api.patch(url, json={"start_date": first["end_date"]}, headers=admin.headers), 400,
                    "VALIDATION_ERROR")
    assert first["name"] in data["details"][0]["message"]
    assert invalid_paths(await api.patch(url, json={"end_date": "2000-01-01"}, headers=admin.headers)) == [
        ["end_date"]]
    error_of(await api.patch(url, json={"name": first["name"]}, headers=admin.headers), 409, "DUPLICATE_ENTRY")
    error_of(await api.patch(url, json={"name": "x"}, headers=supervisor.headers), 403, "INSUFFICIENT_PERMISSIONS")


async def test_open_period(api, admin, supervisor, session_factory):
    location = seed_location(session_factory)
    with session_scope(session_factory) as session:
        inactive = Location(code=unique("OFF").upper(), name="Closed kitchen", type="KITCHEN", is_active=False)
        session.add(inactive)
        session.flush()
        inactive_id = inactive.id
    period = await new_period(api, admin)
    url = f"/api/periods/{period['id']}/open"
    error_of(await api.post(url, headers=supervisor.headers), 403, "INSUFFICIENT_PERMISSIONS")
    opened = ok(await api.post(url, headers=admin.headers))
    assert opened["status"] == "OPEN" and opened["opened_at"].endswith("Z")
    mine = [r for r in opened["locations"] if r["location"]["id"] == location.uid]
    assert len(mine) == 1 and mine[0]["status"] == "NOT_READY" and mine[0]["id"] is not None
    pk = period_id_of(session_factory, period["id"])
    with session_scope(session_factory) as session:
        located = set(session.scalars(select(PeriodLocation.location_id).where(PeriodLocation.period_id == pk)))
        active = set(session.scalars(select(Location.id).where(Location.is_active)))
    assert location.id in located and inactive_id not in located and located >= active - {inactive_id}
    data = error_of(await api.post(url, headers=admin.headers), 400, "INVALID_STATUS")
    assert data["details"]["status"] == "OPEN"
    assert audit_actions(session_factory, "period", pk) == ["PERIOD_CREATED", "PERIOD_OPENED"]


# --- prices -----------------------------------------------------------------------------------------------

async def test_set_prices_as_the_contract_shows(api, admin, operator, session_factory):
    chicken, rice = seed_item(session_factory), seed_item(session_factory, name="Rice")
    period = await new_period(api, admin)
    body = {"prices": [{"item_id": chicken.uid, "price": 25.5}, {"item_id": rice.uid, "price": 18.75}]}
    answer = ok(await api.post(f"/api/periods/{period['id']}/prices", json=body, headers=admin.headers))
    assert answer["updated"] == 2 and [p["price"] for p in answer["prices"]] == [25.5, 18.75]
    again = {"prices": [{"item_id": rice.uid, "price": 19}]}
    ok(await api.post(f"/api/periods/{period['id']}/prices", json=again, headers=admin.headers))
    response = await api.get(f"/api/periods/{period['id']}/prices", headers=operator.headers)
    assert response.headers["X-Total-Count"] == "2"
    prices = {p["item_id"]: p for p in ok(response)}
    assert prices[chicken.uid]["price"] == 25.5 and prices[rice.uid]["price"] == 19
    assert prices[rice.uid]["item"] == {"id": rice.uid, "code": rice.code, "name": "Rice"}
    page = await api.get(f"/api/periods/{period['id']}/prices", params={"limit": 1, "page": 2},
                         headers=admin.headers)
    assert len(ok(page)) == 1 and page.headers["X-Total-Count"] == "2"
    assert ok(await api.get(f"/api/periods/{period['id']}", headers=admin.headers))["prices_count"] == 2


async def test_set_prices_errors(api, admin, supervisor, session_factory):
    item = seed_item(session_factory)
    period = await new_period(api, admin)
    url = f"/api/periods/{period['id']}/prices"
    unknown = {"prices": [{"item_id": item.uid, "price": 1}, {"item_id": MISSING, "price": 2}]}
    assert error_of(await api.post(url, json=unknown, headers=admin.headers), 404, "NOT_FOUND")["details"] == {
        "id": MISSING, "field": "item_id"}
    twice = {"prices": [{"item_id": item.uid, "price": 1}, {"item_id": item.uid, "price": 2}]}
    assert invalid_paths(await api.post(url, json=twice, headers=admin.headers)) == [["prices", 1, "item_id"]]
    negative = {"prices": [{"item_id": item.uid, "price": -2}]}
    assert invalid_paths(await api.post(url, json=negative, headers=admin.headers)) == [["prices", 0, "price"]]
    assert invalid_paths(await api.post(url, json={"prices": []}, headers=admin.headers)) == [["prices"]]
    error_of(await api.post(url, json={"prices": [{"item_id": item.uid, "price": 1}]}, headers=supervisor.headers),
             403, "INSUFFICIENT_PERMISSIONS")
    set_status(session_factory, period_id_of(session_factory, period["id"]), "CLOSED")
    error_of(await api.post(url, json={"prices": [{"item_id": item.uid, "price": 1}]}, headers=admin.headers),
             400, "PERIOD_CLOSED")
    with session_scope(session_factory) as session:
        count = session.scalar(select(func.count()).where(PeriodPrice.period_id == period_id_of(session_factory,
                                                                                                period["id"])))
    assert count == 0


async def test_copy_prices_from_the_previous_period(api, admin, supervisor, session_factory):
    kept, copied, only_here = (seed_item(session_factory) for _ in range(3))
    previous = seed_period(session_factory, status="CLOSED", prices={kept.id: Decimal("10"), copied.id: Decimal("7")})
    period = seed_period(session_factory, status="DRAFT", prices={kept.id: Decimal("11"), only_here.id: Decimal("1")})
    assert period.start == previous.end + timedelta(days=1)
    url = f"/api/periods/{period.uid}/prices-copy"
    error_of(await api.post(url, headers=supervisor.headers), 403, "INSUFFICIENT_PERMISSIONS")
    answer = ok(await api.post(url, headers=admin.headers))
    assert answer["source_period"]["id"] == previous.uid and (answer["copied"], answer["skipped"]) == (1, 1)
    prices = {p["item_id"]: p["price"] for p in ok(await api.get(f"/api/periods/{period.uid}/prices",
                                                                  headers=admin.headers))}
    assert prices == {kept.uid: 11, copied.uid: 7, only_here.uid: 1}
    assert audit_actions(session_factory, "period", period.id) == ["PERIOD_PRICES_COPIED"]
    set_status(session_factory, period.id, "CLOSED")
    error_of(await api.post(url, headers=admin.headers), 400, "PERIOD_CLOSED")


async def test_copy_prices_follows_previous_period_id(api, admin, session_factory):
    source = seed_period(session_factory, prices={seed_item(session_factory).id: Decimal("3")})
    seed_period(session_factory)  # the period that ends right before: previous_period_id wins over it
    period = seed_period(session_factory, status="DRAFT")
    with session_scope(session_factory) as session:
        session.execute(update(Period).where(Period.id == period.id).values(previous_period_id=source.id))
    answer = ok(await api.post(f"/api/periods/{period.uid}/prices-copy", headers=admin.headers))
    assert answer["source_period"]["id"] == source.uid and answer["copied"] == 1


async def test_copy_prices_without_a_previous_period_is_not_found(api, admin, session_factory):
    with session_scope(session_factory) as session:  # before every period there is, so nothing precedes it
        earliest = session.scalar(select(func.min(Period.start_date))) or date.today()
    start = (earliest.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = start + timedelta(days=9)
    body = {"name": unique("First"), "start_date": start.isoformat(), "end_date": end.isoformat()}
    period = ok(await api.post("/api/periods", json=body, headers=admin.headers))
    error_of(await api.post(f"/api/periods/{period['id']}/prices-copy", headers=admin.headers), 404, "NOT_FOUND")


# --- period locations -------------------------------------------------------------------------------------

async def test_mark_location_ready_as_the_contract_shows(api, supervisor, session_factory):
    location = seed_location(session_factory)
    period = seed_period(session_factory, locations=[location])
    body = {"periodId": period.uid, "locationId": location.uid}
    ready = ok(await api.patch("/api/period-locations/ready", json=body, headers=supervisor.headers))
    assert set(ready) == READINESS_FIELDS and ready["status"] == "READY" and ready["period_id"] == period.uid
    assert ready["location"] == {"id": location.uid, "code": location.code, "name": "Kitchen"}
    assert ready["ready_at"].endswith("Z") and ready["ready_by"]["username"] == supervisor.username
    again = ok(await api.patch("/api/period-locations/ready", json=body, headers=supervisor.headers))
    assert again["ready_at"] == ready["ready_at"]  # already ready: unchanged
    unready = ok(await api.patch("/api/period-locations/unready", json=body, headers=supervisor.headers))
    assert unready["status"] == "NOT_READY" and unready["ready_at"] is None and unready["ready_by"] is None
    assert unready["id"] == ready["id"]
    with session_scope(session_factory) as session:
        row_id = session.scalars(select(PeriodLocation.id).where(PeriodLocation.period_id == period.id)).one()
    assert audit_actions(session_factory, "period_location", row_id) == ["PERIOD_LOCATION_READY",
                                                                           "PERIOD_LOCATION_NOT_READY"]


async def test_a_location_added_after_opening_gets_its_row(api, admin, session_factory):
    period = seed_period(session_factory)
    late = seed_location(session_factory)
    details = ok(await api.get(f"/api/periods/{period.uid}", headers=admin.headers))
    row = next(r for r in details["locations"] if r["location"]["id"] == late.uid)
    assert row["status"] == "NOT_READY" and row["id"] is None  # counted, not yet recorded
    ready = ok(await api.patch("/api/period-locations/ready", json={"periodId": period.uid, "locationId": late.uid},
                               headers=admin.headers))
    assert ready["status"] == "READY" and ready["id"] is not None


async def test_operators_mark_only_their_own_locations(api, make_user, session_factory):
    operator = await make_user("OPERATOR")
    mine, theirs = seed_location(session_factory), seed_location(session_factory)
    assign(session_factory, operator.id, mine)
    period = seed_period(session_factory, locations=[mine, theirs])
    ok(await api.patch("/api/period-locations/ready", json={"periodId": period.uid, "locationId": mine.uid},
                       headers=operator.headers))
    for path in ("ready", "unready"):
        error_of(await api.patch(f"/api/period-locations/{path}", json={"periodId": period.uid,
                                                                       "locationId": theirs.uid},
                                 headers=operator.headers), 403, "LOCATION_ACCESS_DENIED")
    error_of(await api.patch("/api/period-locations/ready", json={"periodId": period.uid, "locationId": mine.uid}),
             401, "NOT_AUTHENTICATED")


async def test_mark_location_errors(api, admin, session_factory):
    location = seed_location(session_factory)
    for status in ("DRAFT", "PENDING_CLOSE", "CLOSED"):
        period = seed_period(session_factory, status=status, locations=[location])
        for path in ("ready", "unready"):
            data = error_of(await api.patch(f"/api/period-locations/{path}", json={
                "periodId": period.uid, "locationId": location.uid}, headers=admin.headers), 400, "INVALID_STATUS")
            assert data["details"]["status"] == status
    open_period = seed_period(session_factory)
    for body in ({"periodId": MISSING, "locationId": location.uid}, {"periodId": open_period.uid, "locationId": "x"}):
        error_of(await api.patch("/api/period-locations/ready", json=body, headers=admin.headers), 404, "NOT_FOUND")
    assert invalid_paths(await api.patch("/api/period-locations/ready", json={"periodId": open_period.uid},
                                         headers=admin.headers)) == [["locationId"]]
