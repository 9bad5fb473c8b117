"""Stock contract §1 Location Management (`/api/locations`): the contract's examples, filters and paging,
OPERATOR scoping, the ADMIN-only writes, codes, deactivation, who works where, and the audit trail."""

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import delete, select

from core.db import session_scope
from models.audit import AuditEntry
from models.stock import Location, LocationStock
from tests.conftest import MakeUser, TestUser, unique
from tests.stock.helpers import Ref, assign, seed_item, seed_location
from tests.stock.test_auth import assert_stock_error, detail_paths

LOCATION_FIELDS = {"id", "code", "name", "type", "is_active"}


async def listed(api: httpx.AsyncClient, user: TestUser, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of the list (the session's database holds every test's locations)."""
    rows: list[dict[str, Any]] = []
    for page in range(1, 1000):
        response = await api.get("/api/locations", headers=user.headers, params={"limit": 200, "page": page, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"locations", "total"} and int(response.headers["X-Total-Count"]) == body["total"]
        rows += body["locations"]
        if len(rows) >= body["total"] or not body["locations"]:
            return rows, body["total"]
    raise AssertionError("too many pages")


def location_audit(factory: Any, location_id: int) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(factory) as session:
        rows = session.execute(select(AuditEntry.action_type, AuditEntry.payload_diff).where(
            AuditEntry.entity_type == "location", AuditEntry.entity_id == str(location_id)).order_by(AuditEntry.id))
        return [(action, payload) for action, payload in rows]


# --- list and read -----------------------------------------------------------------------------------

async def test_list_has_the_contract_shape_filters_and_pages(api: httpx.AsyncClient, admin: TestUser,
                                                             session_factory: Any):
    kitchen, store = seed_location(session_factory, "KITCHEN", "Kitchen"), seed_location(session_factory, "STORE")
    rows, total = await listed(api, admin)
    seen = {row["id"]: row for row in rows}
    assert LOCATION_FIELDS <= set(seen[kitchen.uid])
    assert {k: seen[kitchen.uid][k] for k in LOCATION_FIELDS} == {
        "id": kitchen.uid, "code": kitchen.code, "name": "Kitchen", "type": "KITCHEN", "is_active": True}
    kitchens, _ = await listed(api, admin, type="KITCHEN")
    assert {r["type"] for r in kitchens} == {"KITCHEN"} and store.uid not in {r["id"] for r in kitchens}
    inactive, _ = await listed(api, admin, active="false")
    assert all(r["is_active"] is False for r in inactive)
    first = await api.get("/api/locations", headers=admin.headers, params={"page": 1, "limit": 1})
    assert len(first.json()["locations"]) == 1 and first.headers["X-Total-Count"] == str(total)


async def test_list_filter_validation(api: httpx.AsyncClient, admin: TestUser):
    bad = await api.get("/api/locations", headers=admin.headers, params={"type": "GARAGE", "active": "maybe"})
    assert_stock_error(bad, 400, "VALIDATION_ERROR")
    assert detail_paths(bad) == {("type",), ("active",)}


async def test_operator_sees_and_reads_only_assigned_locations(api: httpx.AsyncClient, make_user: MakeUser,
                                                               session_factory: Any):
    operator = await make_user("OPERATOR")
    mine, other = seed_location(session_factory), seed_location(session_factory)
    assign(session_factory, operator.id, mine)
    rows, total = await listed(api, operator)
    assert [r["id"] for r in rows] == [mine.uid] and total == 1
    detail = await api.get(f"/api/locations/{mine.uid}", headers=operator.headers)
    assert detail.status_code == 200 and detail.json()["code"] == mine.code
    assert [u["username"] for u in detail.json()["users"]] == [operator.username]
    denied = await api.get(f"/api/locations/{other.uid}", headers=operator.headers)
    assert assert_stock_error(denied, 403, "LOCATION_ACCESS_DENIED")["data"]["details"] == {"location": other.code}


async def test_supervisor_and_admin_see_every_location(api: httpx.AsyncClient, make_user: MakeUser,
                                                       admin: TestUser, session_factory: Any):
    somewhere = seed_location(session_factory)
    for user in (await make_user("SUPERVISOR"), admin):
        assert somewhere.uid in {r["id"] for r in (await listed(api, user))[0]}
        assert (await api.get(f"/api/locations/{somewhere.uid}", headers=user.headers)).status_code == 200


async def test_unknown_location_is_404(api: httpx.AsyncClient, admin: TestUser):
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        assert_stock_error(await api.get(f"/api/locations/{missing}", headers=admin.headers), 404, "NOT_FOUND")


# --- create, update, delete --------------------------------------------------------------------------

def _drop_location(factory: Any, code: str) -> None:
    """The contract's example code is a fixed one: free it for any other test of the session."""
    with session_scope(factory) as session:
        session.execute(delete(Location).where(Location.code == code))


async def test_create_the_contract_example(api: httpx.AsyncClient, admin: TestUser, session_factory: Any):
    with session_scope(session_factory) as session:
        existed = session.scalar(select(Location.id).where(Location.code == "STR")) is not None
    response = await api.post("/api/locations", headers=admin.headers,
                              json={"code": "STR", "name": "Store", "type": "STORE"})
    if existed:
        assert_stock_error(response, 409, "DUPLICATE_ENTRY")
        return
    try:
        assert response.status_code == 200, response.text
        body = response.json()
        assert {k: body[k] for k in ("code", "name", "type", "is_active")} == {
            "code": "STR", "name": "Store", "type": "STORE", "is_active": True}
        with session_scope(session_factory) as session:
            location = session.scalars(select(Location).where(Location.code == "STR")).one()
            assert str(location.uid) == body["id"]
        action, payload = location_audit(session_factory, location.id)[0]
        assert action == "LOCATION_CREATED" and payload["location_id"] == location.id
        assert payload["code"] == {"old": None, "new": "STR"}
    finally:
        _drop_location(session_factory, "STR")


async def test_codes_are_unique_regardless_of_case(api: httpx.AsyncClient, admin: TestUser):
    code = unique("KIT").upper()
    first = await api.post("/api/locations", headers=admin.headers, json={"code": code, "name": "K", "type": "kitchen"})
    assert first.status_code == 200 and first.json()["type"] == "KITCHEN"
    again = await api.post("/api/locations", headers=admin.headers,
                           json={"code": code.lower(), "name": "Other", "type": "STORE"})
    assert assert_stock_error(again, 409, "DUPLICATE_ENTRY")["data"]["details"] == {"code": code}


async def test_create_validation(api: httpx.AsyncClient, admin: TestUser):
    bad = await api.post("/api/locations", headers=admin.headers, json={"code": "", "type": "GARAGE"})
    assert_stock_error(bad, 400, "VALIDATION_ERROR")
    assert detail_paths(bad) == {("code",), ("name",), ("type",)}


async def test_only_admin_writes_locations(api: httpx.AsyncClient, make_user: MakeUser, session_factory: Any):
    target = seed_location(session_factory)
    body = {"code": unique("X"), "name": "X", "type": "STORE"}
    for role in ("OPERATOR", "SUPERVISOR"):
        user = await make_user(role)
        assign(session_factory, user.id, target)
        for method, path, payload in [("POST", "/api/locations", body),
                                      ("PATCH", f"/api/locations/{target.uid}", {"name": "Y"}),
                                      ("DELETE", f"/api/locations/{target.uid}", None)]:
            response = await api.request(method, path, headers=user.headers, json=payload)
            assert_stock_error(response, 403, "INSUFFICIENT_PERMISSIONS")


async def test_update_bumps_the_version_and_refuses_a_stale_one(api: httpx.AsyncClient, admin: TestUser,
                                                                session_factory: Any):
    target = seed_location(session_factory, "KITCHEN", "Kitchen")
    response = await api.patch(f"/api/locations/{target.uid}", headers=admin.headers,
                               json={"name": "Main Kitchen", "type": "CENTRAL", "version": 1})
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["type"], response.json()["version"]) == ("Main Kitchen",
                                                                                               "CENTRAL", 2)
    stale = await api.patch(f"/api/locations/{target.uid}", headers=admin.headers, json={"name": "Z", "version": 1})
    assert_stock_error(stale, 409, "VERSION_CONFLICT")
    bad_type = await api.patch(f"/api/locations/{target.uid}", headers=admin.headers, json={"type": "SHED"})
    assert detail_paths(bad_type) == {("type",)}
    action, payload = location_audit(session_factory, target.id)[-1]
    assert action == "LOCATION_UPDATED" and payload["name"] == {"old": "Kitchen", "new": "Main Kitchen"}
    assert payload["location_id"] == target.id


async def test_delete_deactivates_unless_the_location_holds_stock(api: httpx.AsyncClient, admin: TestUser,
                                                                  make_user: MakeUser, session_factory: Any):
    empty, stocked = seed_location(session_factory), seed_location(session_factory)
    item = seed_item(session_factory)
    with session_scope(session_factory) as session:
        session.add(LocationStock(location_id=stocked.id, item_id=item.id, on_hand=Decimal("5"), wac=Decimal("2")))
    gone = await api.delete(f"/api/locations/{empty.uid}", headers=admin.headers)
    assert gone.status_code == 200 and gone.json()["success"] is True
    assert gone.json()["location"]["is_active"] is False
    still_readable = await api.get(f"/api/locations/{empty.uid}", headers=admin.headers)
    assert still_readable.json()["is_active"] is False
    assert (await api.delete(f"/api/locations/{empty.uid}", headers=admin.headers)).status_code == 200
    refused = await api.delete(f"/api/locations/{stocked.uid}", headers=admin.headers)
    assert assert_stock_error(refused, 400, "INVALID_STATUS")["data"]["details"]["items_in_stock"] == 1
    assert [(a, p["is_active"]) for a, p in location_audit(session_factory, empty.id)] == [
        ("LOCATION_DEACTIVATED", {"old": True, "new": False})]


# --- who works where ---------------------------------------------------------------------------------

async def assigned_uids(api: httpx.AsyncClient, user: TestUser) -> set[str]:
    return {r["id"] for r in (await listed(api, user))[0]}


async def test_assign_and_unassign_users(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser,
                                         session_factory: Any):
    operator = await make_user("OPERATOR")
    first, second = seed_location(session_factory), seed_location(session_factory)
    uid = (await api.get("/api/auth/session", headers=operator.headers)).json()["user"]["id"]
    added = await api.post(f"/api/locations/{first.uid}/users", headers=admin.headers, json={"userId": uid})
    assert added.status_code == 200 and [u["id"] for u in added.json()["location"]["users"]] == [uid]
    snake = await api.post(f"/api/locations/{second.uid}/users", headers=admin.headers, json={"user_id": uid})
    assert snake.status_code == 200
    again = await api.post(f"/api/locations/{first.uid}/users", headers=admin.headers, json={"userId": uid})
    assert again.status_code == 200  # idempotent
    assert await assigned_uids(api, operator) == {first.uid, second.uid}

    removed = await api.delete(f"/api/locations/{first.uid}/users/{uid}", headers=admin.headers)
    assert removed.status_code == 200 and removed.json()["location"]["users"] == []
    assert await assigned_uids(api, operator) == {second.uid}
    assert_stock_error(await api.get(f"/api/locations/{first.uid}", headers=operator.headers), 403,
                       "LOCATION_ACCESS_DENIED")
    assert_stock_error(await api.delete(f"/api/locations/{first.uid}/users/{uid}", headers=admin.headers), 404,
                       "NOT_FOUND")
    actions = [(a, p["user_id"]) for a, p in location_audit(session_factory, first.id)]
    assert actions == [("LOCATION_USER_ASSIGNED", {"old": None, "new": operator.id}),
                       ("LOCATION_USER_UNASSIGNED", {"old": operator.id, "new": None})]


async def test_assignment_validation_and_permissions(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser,
                                                     session_factory: Any):
    target: Ref = seed_location(session_factory)
    missing = await api.post(f"/api/locations/{target.uid}/users", headers=admin.headers, json={})
    assert_stock_error(missing, 400, "VALIDATION_ERROR")
    assert detail_paths(missing) == {("userId",)}
    unknown = await api.post(f"/api/locations/{target.uid}/users", headers=admin.headers,
                             json={"userId": "00000000-0000-0000-0000-000000000000"})
    assert_stock_error(unknown, 404, "NOT_FOUND")
    supervisor = await make_user("SUPERVISOR")
    uid = (await api.get("/api/auth/session", headers=supervisor.headers)).json()["user"]["id"]
    denied = await api.post(f"/api/locations/{target.uid}/users", headers=supervisor.headers, json={"userId": uid})
    assert_stock_error(denied, 403, "INSUFFICIENT_PERMISSIONS")
