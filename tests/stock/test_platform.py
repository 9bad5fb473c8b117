"""Stock contract §15 Users Management and §17 System: `/api/users`, `/api/health`,
`/api/metrics/performance`, and the per-session rate limit of the stock routes."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.app import create_app
from api.middleware.rate_limit import SlidingWindow, is_limited_path
from core.settings import Settings
from tests.conftest import MakeUser, TestUser
from tests.stock.helpers import seed_location
from tests.stock.test_auth import SESSION_USER_FIELDS, assert_stock_error, detail_paths

LIMIT = 3


async def uid_of(api: httpx.AsyncClient, user: TestUser) -> str:
    return str((await api.get("/api/auth/session", headers=user.headers)).json()["user"]["id"])


# --- users -------------------------------------------------------------------------------------------

async def test_list_users_with_filters_and_paging(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser):
    operator = await make_user("OPERATOR", full_name="Olga Operator")
    response = await api.get("/api/users", headers=admin.headers, params={"search": operator.username})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"users", "total"} and body["total"] == 1 and response.headers["X-Total-Count"] == "1"
    user = body["users"][0]
    assert SESSION_USER_FIELDS | {"is_active", "last_login", "created_at", "updated_at"} == set(user)
    assert (user["username"], user["role"], user["full_name"], user["is_active"]) == (
        operator.username, "OPERATOR", "Olga Operator", True)
    operators = await api.get("/api/users", headers=admin.headers, params={"role": "OPERATOR", "limit": 5})
    assert {u["role"] for u in operators.json()["users"]} == {"OPERATOR"} and len(operators.json()["users"]) <= 5
    assert int(operators.headers["X-Total-Count"]) >= 1
    inactive = await api.get("/api/users", headers=admin.headers, params={"is_active": "false"})
    assert all(u["is_active"] is False for u in inactive.json()["users"])


async def test_users_list_is_for_admins_only(api: httpx.AsyncClient, make_user: MakeUser):
    assert_stock_error(await api.get("/api/users"), 401, "NOT_AUTHENTICATED")
    for role in ("OPERATOR", "SUPERVISOR"):
        user = await make_user(role)
        assert_stock_error(await api.get("/api/users", headers=user.headers), 403, "INSUFFICIENT_PERMISSIONS")


async def test_get_user_is_for_admins_and_the_user(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser):
    operator, other = await make_user("OPERATOR"), await make_user("OPERATOR")
    uid = await uid_of(api, operator)
    assert (await api.get(f"/api/users/{uid}", headers=operator.headers)).json()["id"] == uid
    assert (await api.get(f"/api/users/{uid}", headers=admin.headers)).json()["username"] == operator.username
    assert_stock_error(await api.get(f"/api/users/{uid}", headers=other.headers), 403, "INSUFFICIENT_PERMISSIONS")
    assert_stock_error(await api.get("/api/users/not-a-uuid", headers=admin.headers), 404, "NOT_FOUND")


async def test_update_user_with_the_contract_body(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser,
                                                  session_factory: Any):
    operator = await make_user("OPERATOR")
    somewhere = seed_location(session_factory)
    uid = await uid_of(api, operator)
    response = await api.patch(f"/api/users/{uid}", headers=admin.headers,
                               json={"full_name": "Updated Name", "role": "SUPERVISOR", "is_active": True})
    assert response.status_code == 200, response.text
    user = response.json()
    assert (user["full_name"], user["role"], user["is_active"]) == ("Updated Name", "SUPERVISOR", True)
    assert somewhere.uid in user["locations"]  # a SUPERVISOR works everywhere
    bad = await api.patch(f"/api/users/{uid}", headers=admin.headers, json={"role": "OWNER", "is_active": "often"})
    assert_stock_error(bad, 400, "VALIDATION_ERROR")
    assert detail_paths(bad) == {("role",), ("is_active",)}
    for role in ("OPERATOR", "SUPERVISOR"):
        caller = await make_user(role)
        assert_stock_error(await api.patch(f"/api/users/{uid}", headers=caller.headers, json={"full_name": "x"}),
                           403, "INSUFFICIENT_PERMISSIONS")


async def test_an_operators_default_location_is_one_of_theirs(api: httpx.AsyncClient, admin: TestUser,
                                                              make_user: MakeUser, session_factory: Any):
    operator = await make_user("OPERATOR")
    kitchen = seed_location(session_factory, "KITCHEN", "Kitchen")
    uid = await uid_of(api, operator)
    response = await api.patch(f"/api/users/{uid}", headers=admin.headers, json={"default_location_id": kitchen.uid})
    assert response.status_code == 200, response.text
    assert response.json()["default_location"] == {"id": kitchen.uid, "code": kitchen.code, "name": "Kitchen",
                                                   "type": "KITCHEN"}
    assert response.json()["locations"] == [kitchen.uid]  # assigned with it
    session = (await api.get("/api/auth/session", headers=operator.headers)).json()
    assert session["user"]["default_location_id"] == kitchen.uid
    await api.delete(f"/api/locations/{kitchen.uid}/users/{uid}", headers=admin.headers)
    cleared = (await api.get(f"/api/users/{uid}", headers=admin.headers)).json()
    assert cleared["default_location_id"] is None and cleared["locations"] == []
    unknown = await api.patch(f"/api/users/{uid}", headers=admin.headers,
                              json={"default_location_id": "00000000-0000-0000-0000-000000000000"})
    assert_stock_error(unknown, 404, "NOT_FOUND")


async def test_delete_user_deactivates_and_ends_their_sessions(api: httpx.AsyncClient, admin: TestUser,
                                                               make_user: MakeUser):
    operator = await make_user("OPERATOR")
    uid = await uid_of(api, operator)
    response = await api.delete(f"/api/users/{uid}", headers=admin.headers)
    assert response.status_code == 200 and response.json()["success"] is True
    assert response.json()["user"]["is_active"] is False
    assert (await api.get("/api/auth/session", headers=operator.headers)).json() is None
    assert_stock_error(await api.get("/api/locations", headers=operator.headers), 401, "NOT_AUTHENTICATED")
    itself = await api.delete(f"/api/users/{await uid_of(api, admin)}", headers=admin.headers)
    assert_stock_error(itself, 400, "INVALID_STATUS")


# --- health and metrics ------------------------------------------------------------------------------

async def test_health_is_public_with_the_contract_shape(api: httpx.AsyncClient):
    response = await api.get("/api/health")
    assert response.status_code == 200 and set(response.json()) == {"status", "timestamp"}
    assert response.json()["status"] == "ok" and response.json()["timestamp"].endswith("Z")
    datetime.fromisoformat(response.json()["timestamp"].replace("Z", "+00:00"))


async def test_metrics_count_each_route_template(api: httpx.AsyncClient, admin: TestUser, make_user: MakeUser,
                                                 session_factory: Any):
    place = seed_location(session_factory)
    route = "GET /api/locations/{location_id}"

    async def count() -> int:
        report = (await api.get("/api/metrics/performance", headers=admin.headers)).json()
        return next((r["count"] for r in report["routes"] if r["route"] == route), 0)

    before = await count()
    for _ in range(3):
        assert (await api.get(f"/api/locations/{place.uid}", headers=admin.headers)).status_code == 200
    report = (await api.get("/api/metrics/performance", headers=admin.headers)).json()
    assert report["uptime_seconds"] > 0 and report["total_requests"] >= 3 and report["started_at"].endswith("Z")
    entry = next(r for r in report["routes"] if r["route"] == route)
    assert entry["count"] == before + 3 and entry["method"] == "GET" and entry["path"] == "/api/locations/{location_id}"
    assert 0 < entry["p50_ms"] <= entry["p95_ms"] <= entry["p99_ms"] <= entry["max_ms"]
    assert await count() == before + 3
    for role in ("OPERATOR", "SUPERVISOR"):
        user = await make_user(role)
        assert_stock_error(await api.get("/api/metrics/performance", headers=user.headers), 403,
                           "INSUFFICIENT_PERMISSIONS")


# --- rate limit --------------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def limited(settings: Settings, engine: Engine, temporal_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own with a limit of LIMIT requests per minute."""
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": LIMIT}), engine, temporal_client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_request_after_the_limit_is_429_with_retry_after(limited: httpx.AsyncClient):
    for _ in range(LIMIT):
        assert (await limited.get("/api/auth/session")).status_code == 200
    refused = await limited.get("/api/auth/session")
    assert_stock_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await limited.get("/api/health")).status_code == 200  # never limited
    assert (await limited.get("/health")).status_code == 200
    assert (await limited.get("/api/v1/auth/me")).status_code == 401  # /api/v1 is not limited


async def test_each_session_has_its_own_budget(limited: httpx.AsyncClient, make_user: MakeUser):
    first, second = await make_user("OPERATOR"), await make_user("OPERATOR")
    for _ in range(LIMIT):
        assert (await limited.get("/api/locations", headers=first.headers)).status_code == 200
    assert_stock_error(await limited.get("/api/locations", headers=first.headers), 429, "RATE_LIMITED")
    assert (await limited.get("/api/locations", headers=second.headers)).status_code == 200
    assert (await limited.get("/api/auth/session")).status_code == 200  # the address has its own too


def test_the_window_slides_and_forgets_idle_keys():
    now = [1000.0]
    window = SlidingWindow(2, clock=lambda: now[0])
    assert window.admit("a") == 0
    now[0] += 15
    assert window.admit("a") == 0
    now[0] += 15
    assert window.admit("a") == 30 and window.admit("b") == 0  # refused requests do not count
    now[0] += 30
    assert window.admit("a") == 0 and window.admit("a") == 15  # the first one left the window, not the second
    now[0] += 200
    window.admit("c")
    assert set(window.hits) == {"c"}
    assert is_limited_path("/api/locations") and not is_limited_path("/api/health")
    assert not is_limited_path("/api/v1/users") and not is_limited_path("/health")
