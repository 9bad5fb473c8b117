"""NCRs of the stock contract (§11): manual NCRs, the status graph enforced by each NCR's lifecycle
(`ncr-{uid}`), the follow-up of an NCR left SENT, and location scoping."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from core.db import session_scope
from models.notifications import Notification
from models.quality import NonConformance
from tests.conftest import TestUser
from tests.stock.helpers import Ref, assign, seed_item, seed_location

pytestmark = pytest.mark.asyncio(loop_scope="session")


def ncr_body(location: Ref, item: Ref) -> dict[str, Any]:
    return {"location_id": location.uid, "reason": "Items damaged in transit",
            "lines": [{"item_id": item.uid, "quantity": 5, "value": 127.5}]}


async def raise_ncr(api, user: TestUser, location: Ref, item: Ref) -> dict[str, Any]:
    response = await api.post("/api/ncrs", json=ncr_body(location, item), headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def operator_at(make_user, session_factory) -> tuple[TestUser, Ref, Ref]:
    location, item = seed_location(session_factory), seed_item(session_factory)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, location)
    return operator, location, item


async def test_the_contract_example_raises_an_open_manual_ncr(api, operator_at):
    operator, location, item = operator_at

    ncr = await raise_ncr(api, operator, location, item)

    assert ncr["ncr_no"].startswith("NCR-") and ncr["type"] == "MANUAL" and ncr["status"] == "OPEN"
    assert ncr["reason"] == "Items damaged in transit" and ncr["total_value"] == 127.5
    assert ncr["location"]["id"] == location.uid
    assert ncr["lines"] == [{"item": {"id": item.uid, "code": item.code, "name": "Chicken Breast"}, "quantity": 5.0,
                             "value": 127.5}]
    fetched = await api.get(f"/api/ncrs/{ncr['id']}", headers=operator.headers)
    assert fetched.status_code == 200 and fetched.json()["ncr_no"] == ncr["ncr_no"]


async def test_a_claim_goes_sent_credited_closed_and_no_other_way(api, operator_at, make_user):
    operator, location, item = operator_at
    supervisor = await make_user("SUPERVISOR")
    ncr = await raise_ncr(api, operator, location, item)
    path = f"/api/ncrs/{ncr['id']}"

    skipped = await api.patch(path, json={"status": "CREDITED"}, headers=supervisor.headers)
    assert skipped.status_code == 400 and skipped.json()["data"]["code"] == "INVALID_STATUS"
    assert skipped.json()["data"]["details"]["allowed"] == ["SENT", "CLOSED"]

    sent = await api.patch(path, json={"status": "SENT", "resolution": "Claim sent"}, headers=supervisor.headers)
    credited = await api.patch(path, json={"status": "CREDITED", "resolution": "Credit note received"},
                               headers=supervisor.headers)
    closed = await api.patch(path, json={"status": "CLOSED"}, headers=supervisor.headers)

    assert [r.json()["status"] for r in (sent, credited, closed)] == ["SENT", "CREDITED", "CLOSED"]
    assert credited.json()["credited_value"] == 127.5 and credited.json()["resolution"] == "Credit note received"
    assert closed.json()["closed_at"] is not None
    after = await api.patch(path, json={"status": "SENT"}, headers=supervisor.headers)
    assert after.status_code == 400 and after.json()["data"]["code"] == "INVALID_STATUS"


async def test_a_dropped_claim_closes_from_open(api, operator_at, admin):
    operator, location, item = operator_at
    ncr = await raise_ncr(api, operator, location, item)

    closed = await api.patch(f"/api/ncrs/{ncr['id']}", json={"status": "CLOSED", "resolution": "Claim dropped"},
                             headers=admin.headers)

    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"


async def test_operators_raise_ncrs_only_at_their_locations_and_do_not_manage_them(api, operator_at,
                                                                                   session_factory):
    operator, location, item = operator_at
    elsewhere = seed_location(session_factory)

    denied = await api.post("/api/ncrs", json=ncr_body(elsewhere, item), headers=operator.headers)
    ncr = await raise_ncr(api, operator, location, item)
    manage = await api.patch(f"/api/ncrs/{ncr['id']}", json={"status": "SENT"}, headers=operator.headers)
    listed = await api.get("/api/ncrs", params={"type": "MANUAL", "status": "OPEN"}, headers=operator.headers)

    assert denied.status_code == 403 and denied.json()["data"]["code"] == "LOCATION_ACCESS_DENIED"
    assert manage.status_code == 403 and manage.json()["data"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert {n["location"]["id"] for n in listed.json()["ncrs"]} == {location.uid}
    assert listed.headers["X-Total-Count"] == str(listed.json()["total"])


async def test_invalid_ncr_requests_are_refused(api, operator_at, make_user):
    operator, location, item = operator_at
    body = ncr_body(location, item)
    for bad, status, code in [({**body, "reason": ""}, 400, "VALIDATION_ERROR"),
                              ({**body, "lines": [{"item_id": item.uid, "quantity": -1, "value": 1}]}, 400,
                               "VALIDATION_ERROR"),
                              ({**body, "lines": [{"item_id": location.uid, "quantity": 1, "value": 1}]}, 404,
                               "NOT_FOUND")]:
        response = await api.post("/api/ncrs", json=bad, headers=operator.headers)
        assert (response.status_code, response.json()["data"]["code"]) == (status, code), response.text
    supervisor = await make_user("SUPERVISOR")
    unknown = await api.patch(f"/api/ncrs/{location.uid}", json={"status": "SENT"}, headers=supervisor.headers)
    assert unknown.status_code == 404
    bad_status = await api.patch(f"/api/ncrs/{location.uid}", json={"status": "LOST"}, headers=supervisor.headers)
    assert bad_status.status_code == 400 and bad_status.json()["data"]["details"][0]["path"] == ["status"]


async def test_an_ncr_left_sent_gets_a_follow_up(api, operator_at, make_user, settings, monkeypatch,
                                                 session_factory):
    operator, location, item = operator_at
    monkeypatch.setattr(settings, "ncr_follow_up_seconds", 1)
    ncr = await raise_ncr(api, operator, location, item)
    supervisor = await make_user("SUPERVISOR")
    assert (await api.patch(f"/api/ncrs/{ncr['id']}", json={"status": "SENT"},
                            headers=supervisor.headers)).status_code == 200

    def follow_ups() -> list[str]:
        with session_scope(session_factory) as session:
            return list(session.scalars(select(Notification.subject).where(
                Notification.kind == "ncr_follow_up", Notification.recipient_user_id == operator.id)))

    async with asyncio.timeout(30):
        while not follow_ups():
            await asyncio.sleep(0.1)
    assert ncr["ncr_no"] in follow_ups()[0]


async def test_an_ncr_whose_lifecycle_never_started_still_moves(api, operator_at, make_user, session_factory):
    operator, location, item = operator_at
    ncr = await raise_ncr(api, operator, location, item)
    with session_scope(session_factory) as session:  # as if the API died between commit and start
        row = session.scalars(select(NonConformance).where(NonConformance.ncr_number == ncr["ncr_no"])).one()
        orphan = NonConformance(ncr_number=f"{ncr['ncr_no']}-X", kind="manual", status="OPEN", title="orphan",
                                location_id=row.location_id)
        session.add(orphan)
        session.flush()
        orphan_uid = str(orphan.uid)

    sent = await api.patch(f"/api/ncrs/{orphan_uid}", json={"status": "SENT"},
                           headers=(await make_user("SUPERVISOR")).headers)

    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "SENT"
