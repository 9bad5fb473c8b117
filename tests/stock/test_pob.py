"""People on board (multi-location-stock.md §12): the contract's examples as written, entries by date with
their totals, the default (current) period, the OPEN-period and in-period rules, one entry per location and
day, every error code, OPERATOR location scoping and the audit rows."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from core.db import session_scope
from models.stock import Period, PobEntry
from tests.conftest import MakeUser
from tests.conftest import TestUser as AppUser
from tests.stock.helpers import PeriodRef, Ref, assign, seed_location, seed_period
from tests.stock.test_items_suppliers import MISSING, audit_actions, error_of, invalid_paths, ok

ENTRY_FIELDS = {"id", "date", "crew_count", "extra_count", "total"}
RECORDED_FIELDS = ENTRY_FIELDS | {"period", "location", "created_at", "updated_at"}


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


def kitchen_and_period(factory: Any, status: str = "OPEN") -> tuple[Ref, PeriodRef]:
    location = seed_location(factory)
    return location, seed_period(factory, status=status, locations=[location])


async def record(api: httpx.AsyncClient, user: AppUser, location: Ref, period: PeriodRef, day: int = 1,
                 crew: int = 60, extra: int = 15) -> httpx.Response:
    return await api.post(f"/api/locations/{location.uid}/pob", json={
        "periodId": period.uid, "date": period.day(day), "crew_count": crew, "extra_count": extra},
        headers=user.headers)


def entry_pk(factory: Any, uid: str) -> int:
    with session_scope(factory) as session:
        return int(session.scalars(select(PobEntry.id).where(PobEntry.uid == uuid.UUID(uid))).one())


async def test_create_pob_entry_as_the_contract_shows(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    entry = ok(await record(api, supervisor, location, period))
    assert set(entry) == RECORDED_FIELDS
    assert {k: entry[k] for k in ("date", "crew_count", "extra_count", "total")} == {
        "date": period.day(1), "crew_count": 60, "extra_count": 15, "total": 75}
    assert entry["location"] == {"id": location.uid, "name": "Kitchen"} and entry["period"]["id"] == period.uid
    assert audit_actions(session_factory, "pob_entry", entry_pk(session_factory, entry["id"])) == [
        "POB_ENTRY_CREATED"]


async def test_location_pob_as_the_contract_shows(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    for day, crew, extra in ((3, 58, 12), (1, 60, 15), (2, 61, 0)):
        ok(await record(api, supervisor, location, period, day, crew, extra))
    other_location = seed_location(session_factory)
    ok(await record(api, supervisor, other_location, period, 1, 5, 5))  # another location's: not listed
    body = ok(await api.get(f"/api/locations/{location.uid}/pob", params={"periodId": period.uid},
                            headers=supervisor.headers))
    assert set(body) == {"period", "location", "entries", "totals"}
    with session_scope(session_factory) as session:
        name = session.get_one(Period, period.id).name
    assert body["period"] == {"id": period.uid, "name": name}
    assert body["location"] == {"id": location.uid, "name": "Kitchen"}
    assert all(set(e) == ENTRY_FIELDS for e in body["entries"])
    assert [(e["date"], e["total"]) for e in body["entries"]] == [(period.day(1), 75), (period.day(2), 61),
                                                                  (period.day(3), 70)]
    assert body["totals"] == {"total_crew": 179, "total_extra": 27, "total_mandays": 206}


async def test_location_pob_defaults_to_the_current_period(api, supervisor, session_factory):
    location = seed_location(session_factory)
    seed_period(session_factory)  # at least one OPEN period, so there is a current one
    current = ok(await api.get("/api/periods/current", headers=supervisor.headers))
    body = ok(await api.get(f"/api/locations/{location.uid}/pob", headers=supervisor.headers))
    assert body["period"] == {"id": current["id"], "name": current["name"]}
    assert body["entries"] == [] and body["totals"] == {"total_crew": 0, "total_extra": 0, "total_mandays": 0}


async def test_update_pob_entry_as_the_contract_shows(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    entry = ok(await record(api, supervisor, location, period))
    changed = ok(await api.patch(f"/api/pob/{entry['id']}", json={"crew_count": 62, "extra_count": 10},
                                 headers=supervisor.headers))
    assert {k: changed[k] for k in ("id", "date", "crew_count", "extra_count", "total")} == {
        "id": entry["id"], "date": period.day(1), "crew_count": 62, "extra_count": 10, "total": 72}
    only_crew = ok(await api.patch(f"/api/pob/{entry['id']}", json={"crew_count": 63}, headers=supervisor.headers))
    assert (only_crew["crew_count"], only_crew["extra_count"]) == (63, 10)
    assert audit_actions(session_factory, "pob_entry", entry_pk(session_factory, entry["id"])) == [
        "POB_ENTRY_CREATED", "POB_ENTRY_UPDATED", "POB_ENTRY_UPDATED"]


async def test_dates_may_be_full_iso_datetimes(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    entry = ok(await api.post(f"/api/locations/{location.uid}/pob", json={
        "periodId": period.uid, "date": f"{period.day(5)}T00:00:00.000Z", "crew_count": 1}, headers=supervisor.headers))
    assert entry["date"] == period.day(5) and entry["extra_count"] == 0 and entry["total"] == 1


async def test_one_entry_per_location_and_day(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    ok(await record(api, supervisor, location, period, day=4))
    data = error_of(await record(api, supervisor, location, period, day=4, crew=1), 409, "DUPLICATE_ENTRY")
    assert data["details"] == {"field": "date", "value": period.day(4)}


async def test_date_must_lie_in_the_period(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    for outside in (period.start - timedelta(days=1), period.end + timedelta(days=1)):
        body = {"periodId": period.uid, "date": outside.isoformat(), "crew_count": 1}
        response = await api.post(f"/api/locations/{location.uid}/pob", json=body, headers=supervisor.headers)
        assert invalid_paths(response) == [["date"]]


async def test_only_an_open_period_takes_pob(api, supervisor, session_factory):
    for status in ("DRAFT", "PENDING_CLOSE", "CLOSED"):
        location, period = kitchen_and_period(session_factory, status=status)
        data = error_of(await record(api, supervisor, location, period), 400, "PERIOD_CLOSED")
        assert data["details"]["status"] == status
    location, period = kitchen_and_period(session_factory)
    entry = ok(await record(api, supervisor, location, period))
    with session_scope(session_factory) as session:
        session.execute(update(Period).where(Period.id == period.id).values(status="CLOSED"))
    error_of(await api.patch(f"/api/pob/{entry['id']}", json={"crew_count": 1}, headers=supervisor.headers), 400,
             "PERIOD_CLOSED")


async def test_counts_are_non_negative_integers(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    url = f"/api/locations/{location.uid}/pob"
    bad = {"periodId": period.uid, "date": period.day(1), "crew_count": -1, "extra_count": "15"}
    assert sorted(invalid_paths(await api.post(url, json=bad, headers=supervisor.headers))) == [
        ["crew_count"], ["extra_count"]]
    assert sorted(invalid_paths(await api.post(url, json={"crew_count": 1.5}, headers=supervisor.headers))) == [
        ["crew_count"], ["date"], ["periodId"]]
    entry = ok(await record(api, supervisor, location, period))
    assert invalid_paths(await api.patch(f"/api/pob/{entry['id']}", json={"extra_count": -3},
                                         headers=supervisor.headers)) == [["extra_count"]]


async def test_unknown_ids_are_not_found(api, supervisor, session_factory):
    location, period = kitchen_and_period(session_factory)
    for location_id in (MISSING, "kitchen"):
        error_of(await api.get(f"/api/locations/{location_id}/pob", params={"periodId": period.uid},
                               headers=supervisor.headers), 404, "NOT_FOUND")
        error_of(await api.post(f"/api/locations/{location_id}/pob", json={
            "periodId": period.uid, "date": period.day(1), "crew_count": 1}, headers=supervisor.headers),
            404, "NOT_FOUND")
    error_of(await api.get(f"/api/locations/{location.uid}/pob", params={"periodId": MISSING},
                           headers=supervisor.headers), 404, "NOT_FOUND")
    error_of(await api.post(f"/api/locations/{location.uid}/pob", json={
        "periodId": MISSING, "date": period.day(1), "crew_count": 1}, headers=supervisor.headers), 404, "NOT_FOUND")
    for entry_id in (MISSING, "7"):
        error_of(await api.patch(f"/api/pob/{entry_id}", json={"crew_count": 1}, headers=supervisor.headers), 404,
                 "NOT_FOUND")


async def test_operators_work_only_at_their_locations(api, make_user, supervisor, session_factory):
    operator = await make_user("OPERATOR")
    mine, theirs = seed_location(session_factory), seed_location(session_factory)
    assign(session_factory, operator.id, mine)
    period = seed_period(session_factory, locations=[mine, theirs])
    entry = ok(await record(api, operator, mine, period))
    ok(await api.patch(f"/api/pob/{entry['id']}", json={"crew_count": 1}, headers=operator.headers))
    assert len(ok(await api.get(f"/api/locations/{mine.uid}/pob", params={"periodId": period.uid},
                                headers=operator.headers))["entries"]) == 1
    foreign = ok(await record(api, supervisor, theirs, period))
    error_of(await record(api, operator, theirs, period, day=2), 403, "LOCATION_ACCESS_DENIED")
    error_of(await api.get(f"/api/locations/{theirs.uid}/pob", params={"periodId": period.uid},
                           headers=operator.headers), 403, "LOCATION_ACCESS_DENIED")
    error_of(await api.patch(f"/api/pob/{foreign['id']}", json={"crew_count": 1}, headers=operator.headers), 403,
             "LOCATION_ACCESS_DENIED")


async def test_admin_works_everywhere_and_non_stock_roles_cannot_post(api, admin, make_user, session_factory):
    location, period = kitchen_and_period(session_factory)
    entry = ok(await record(api, admin, location, period))
    ok(await api.patch(f"/api/pob/{entry['id']}", json={"extra_count": 0}, headers=admin.headers))
    assert ok(await api.get(f"/api/locations/{location.uid}/pob", params={"periodId": period.uid},
                            headers=admin.headers))["totals"]["total_mandays"] == 60
    viewer = await make_user("viewer")  # an aerospace role: no stock permissions
    assign(session_factory, viewer.id, location)
    error_of(await record(api, viewer, location, period, day=2), 403, "INSUFFICIENT_PERMISSIONS")
    error_of(await api.patch(f"/api/pob/{entry['id']}", json={"crew_count": 1}, headers=viewer.headers), 403,
             "INSUFFICIENT_PERMISSIONS")


async def test_pob_needs_a_session(api, session_factory):
    location, period = kitchen_and_period(session_factory)
    error_of(await api.get(f"/api/locations/{location.uid}/pob"), 401, "NOT_AUTHENTICATED")
    error_of(await api.post(f"/api/locations/{location.uid}/pob", json={}), 401, "NOT_AUTHENTICATED")
    error_of(await api.patch(f"/api/pob/{MISSING}", json={}), 401, "NOT_AUTHENTICATED")
