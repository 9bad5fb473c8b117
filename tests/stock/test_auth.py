"""Stock contract, authentication (`/api/auth/*`): the contract's examples, the `nuxt-session` cookie and the
bearer header, the public routes, login throttling, register, change-password and profile."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from api.app import create_app
from core.db import session_scope
from core.security import decode_token
from core.timeutil import utcnow
from models.audit import AuditEntry
from models.identity import AuthSession, User
from models.stock import Location
from tests.conftest import MakeUser, TestUser, unique
from tests.stock.helpers import assign, seed_location

COOKIE = "nuxt-session"
SESSION_USER_FIELDS = {"id", "username", "email", "full_name", "role", "default_location_id", "default_location",
                       "locations"}


@pytest_asyncio.fixture
async def browser(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, as a browser tab: the shared `api` client never holds a session."""
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver", timeout=30) as client:
        yield client


def assert_stock_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage", "data"} and body["statusCode"] == status
    assert set(body["data"]) == {"code", "message", "details"} and body["data"]["code"] == code
    assert body["data"]["message"] and body["statusMessage"]
    return body


def detail_paths(response: httpx.Response) -> set[tuple[Any, ...]]:
    return {tuple(d["path"]) for d in response.json()["data"]["details"]}


async def sign_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": login, "password": password})


def audit_actions(factory: Any, entity_type: str, entity_id: int) -> list[str]:
    with session_scope(factory) as session:
        return list(session.scalars(select(AuditEntry.action_type).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id)))


# --- login -------------------------------------------------------------------------------------------

async def test_login_with_the_contract_body_answers_the_session_user_and_sets_the_cookie(
        browser: httpx.AsyncClient, make_user: MakeUser, session_factory: Any):
    kitchen = seed_location(session_factory, "KITCHEN", "Kitchen")
    admin = await make_user("ADMIN", full_name="Admin User", default_location_id=kitchen.id)
    response = await sign_in(browser, admin.email, admin.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "message", "user"}
    assert body["success"] is True and body["message"] == "Login successful"
    user = body["user"]
    assert set(user) == SESSION_USER_FIELDS
    assert (user["username"], user["email"], user["full_name"], user["role"]) == (
        admin.username, admin.email, "Admin User", "ADMIN")
    assert user["default_location_id"] == kitchen.uid
    assert user["default_location"] == {"id": kitchen.uid, "code": kitchen.code, "name": "Kitchen", "type": "KITCHEN"}
    assert kitchen.uid in user["locations"]  # ADMIN: every active location
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/" in cookie and "secure" not in cookie  # Secure only in production
    assert browser.cookies[COOKIE] and "access_token" not in body


async def test_login_accepts_the_username_in_the_email_field(browser: httpx.AsyncClient, make_user: MakeUser):
    operator = await make_user("OPERATOR")
    response = await sign_in(browser, operator.username, operator.password)
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["role"] == "OPERATOR" and user["default_location"] is None and user["default_location_id"] is None


async def test_operator_session_lists_only_their_active_locations(browser: httpx.AsyncClient, make_user: MakeUser,
                                                                  session_factory: Any):
    operator = await make_user("OPERATOR")
    mine, closed, _other = (seed_location(session_factory) for _ in range(3))
    assign(session_factory, operator.id, mine, closed)
    with session_scope(session_factory) as session:
        session.get_one(Location, closed.id).is_active = False
    response = await sign_in(browser, operator.email, operator.password)
    assert response.json()["user"]["locations"] == [mine.uid]


async def test_supervisor_session_lists_every_active_location(browser: httpx.AsyncClient, make_user: MakeUser,
                                                              session_factory: Any):
    supervisor = await make_user("SUPERVISOR")
    somewhere = seed_location(session_factory, "STORE", "Store")
    user = (await sign_in(browser, supervisor.email, supervisor.password)).json()["user"]
    assert user["role"] == "SUPERVISOR" and somewhere.uid in user["locations"]


async def test_login_validation_and_wrong_password(browser: httpx.AsyncClient, make_user: MakeUser):
    empty = await browser.post("/api/auth/login", json={})
    assert_stock_error(empty, 400, "VALIDATION_ERROR")
    assert empty.json()["data"]["message"] == "Invalid request data"
    assert detail_paths(empty) == {("email",), ("password",)}
    user = await make_user("OPERATOR")
    assert_stock_error(await sign_in(browser, user.email, "wrong-password"), 401, "NOT_AUTHENTICATED")
    assert_stock_error(await sign_in(browser, unique("nobody"), "wrong-password"), 401, "NOT_AUTHENTICATED")
    assert COOKIE not in browser.cookies


async def test_repeated_failures_lock_the_account_with_retry_after(browser: httpx.AsyncClient,
                                                                   make_user: MakeUser, settings: Any):
    user = await make_user("OPERATOR")
    for _ in range(settings.login_max_failures):
        assert (await sign_in(browser, user.email, "wrong-password")).status_code == 401
    locked = await sign_in(browser, user.email, user.password)
    assert_stock_error(locked, 429, "TOO_MANY_ATTEMPTS")
    assert int(locked.headers["Retry-After"]) > 0 and COOKIE not in browser.cookies


# --- the cookie, the bearer, the public routes -------------------------------------------------------

async def test_cookie_only_flow_from_login_to_logout(browser: httpx.AsyncClient, make_user: MakeUser):
    user = await make_user("SUPERVISOR", full_name="Sam Supervisor")
    assert (await sign_in(browser, user.email, user.password)).status_code == 200
    token = browser.cookies[COOKIE]
    session = await browser.get("/api/auth/session")
    assert session.status_code == 200 and set(session.json()) == {"user", "loggedInAt"}
    assert session.json()["user"]["full_name"] == "Sam Supervisor" and session.json()["loggedInAt"].endswith("Z")
    assert browser.cookies[COOKIE] != token  # renewed: a fresh token of the same session
    assert (await browser.get("/api/locations")).status_code == 200  # a protected stock route
    assert (await browser.get("/api/v1/auth/me")).json()["username"] == user.username  # and a /api/v1 one

    logout = await browser.post("/api/auth/logout")
    assert logout.status_code == 200 and logout.json() == {"success": True}
    assert COOKIE not in browser.cookies
    assert (await browser.get("/api/auth/session")).json() is None
    revoked = await browser.get("/api/locations", headers={"Cookie": f"{COOKIE}={token}"})
    assert_stock_error(revoked, 401, "NOT_AUTHENTICATED")
    assert revoked.json()["data"]["message"] == "Token has been revoked"


async def test_a_cookie_session_is_renewed_only_within_the_refresh_lifetime(browser: httpx.AsyncClient,
                                                                           make_user: MakeUser, settings: Any,
                                                                           session_factory: Any):
    user = await make_user("OPERATOR")
    assert (await sign_in(browser, user.email, user.password)).status_code == 200
    with session_scope(session_factory) as session:
        sid = decode_token(browser.cookies[COOKIE], "access").session_id
        session.get_one(AuthSession, sid).created_at = utcnow() - timedelta(seconds=settings.refresh_token_seconds)
    old = await browser.get("/api/auth/session")
    assert old.json()["user"]["username"] == user.username and "set-cookie" not in old.headers


async def test_bearer_token_works_on_stock_routes(api: httpx.AsyncClient, make_user: MakeUser):
    user = await make_user("OPERATOR")
    session = await api.get("/api/auth/session", headers=user.headers)
    assert session.json()["user"]["username"] == user.username and session.json()["user"]["role"] == "OPERATOR"
    assert (await api.get("/api/locations", headers=user.headers)).status_code == 200


async def test_session_is_null_when_not_signed_in(browser: httpx.AsyncClient):
    anonymous = await browser.get("/api/auth/session")
    assert anonymous.status_code == 200 and anonymous.text == "null"
    stale = await browser.get("/api/auth/session", headers={"Cookie": f"{COOKIE}=not-a-jwt"})
    assert stale.status_code == 200 and stale.json() is None
    assert stale.headers["set-cookie"].startswith(f'{COOKIE}=""') or "max-age=0" in stale.headers["set-cookie"].lower()
    bad_bearer = await browser.get("/api/auth/session", headers={"Authorization": "Bearer nope"})
    assert bad_bearer.status_code == 200 and bad_bearer.json() is None


async def test_logout_is_public(browser: httpx.AsyncClient):
    response = await browser.post("/api/auth/logout")
    assert response.status_code == 200 and response.json() == {"success": True}


async def test_protected_stock_routes_answer_401_without_a_session(api: httpx.AsyncClient):
    for method, path in [("GET", "/api/locations"), ("GET", "/api/users"), ("PATCH", "/api/auth/profile"),
                         ("POST", "/api/auth/change-password"), ("GET", "/api/metrics/performance"),
                         ("POST", "/api/auth/register")]:
        response = await api.request(method, path, json={})
        body = assert_stock_error(response, 401, "NOT_AUTHENTICATED")
        assert body["statusMessage"] == "Unauthorized"


async def test_unknown_stock_paths_answer_in_the_stock_dialect(api: httpx.AsyncClient):
    assert_stock_error(await api.get("/api/no-such-thing"), 404, "NOT_FOUND")
    assert_stock_error(await api.put("/api/auth/session"), 405, "METHOD_NOT_ALLOWED")


# --- register ----------------------------------------------------------------------------------------

async def test_register_the_contract_example_as_admin(api: httpx.AsyncClient, browser: httpx.AsyncClient,
                                                      admin: TestUser, session_factory: Any):
    name = unique("newuser")
    body = {"username": name, "email": f"{name}@example.com", "password": "password123", "full_name": "New User",
            "role": "OPERATOR"}
    response = await api.post("/api/auth/register", headers=admin.headers, json=body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["success"] is True
    assert {k: created["user"][k] for k in ("username", "email", "full_name", "role", "is_active")} == {
        "username": name, "email": f"{name}@example.com", "full_name": "New User", "role": "OPERATOR",
        "is_active": True}
    assert (await sign_in(browser, name, "password123")).status_code == 200
    with session_scope(session_factory) as session:
        user_pk = session.scalars(select(User.id).where(User.username == name)).one()
    assert "USER_CREATED" in audit_actions(session_factory, "user", user_pk)

    for clash in ({**body, "email": f"other-{name}@example.com"}, {**body, "username": unique("other")}):
        assert_stock_error(await api.post("/api/auth/register", headers=admin.headers, json=clash), 409,
                           "DUPLICATE_ENTRY")


async def test_register_validation(api: httpx.AsyncClient, admin: TestUser):
    bad = await api.post("/api/auth/register", headers=admin.headers,
                         json={"username": unique("u"), "email": "not-an-email", "password": "short", "role": "KING"})
    assert_stock_error(bad, 400, "VALIDATION_ERROR")
    assert detail_paths(bad) == {("email",), ("password",), ("role",)}


async def test_register_is_for_admins_only(api: httpx.AsyncClient, make_user: MakeUser):
    body = {"username": unique("x"), "email": f"{unique('x')}@example.com", "password": "password123",
            "role": "OPERATOR"}
    assert_stock_error(await api.post("/api/auth/register", json=body), 401, "NOT_AUTHENTICATED")
    for role in ("OPERATOR", "SUPERVISOR"):
        user = await make_user(role)
        assert_stock_error(await api.post("/api/auth/register", headers=user.headers, json=body), 403,
                           "INSUFFICIENT_PERMISSIONS")


# --- change password, profile ------------------------------------------------------------------------

async def test_change_password_with_the_contract_body(api: httpx.AsyncClient, browser: httpx.AsyncClient,
                                                      make_user: MakeUser):
    user = await make_user("OPERATOR")  # its bearer token is another session
    assert (await sign_in(browser, user.email, user.password)).status_code == 200
    wrong = await browser.post("/api/auth/change-password",
                               json={"currentPassword": "oldpassword", "newPassword": "newpassword"})
    assert_stock_error(wrong, 400, "VALIDATION_ERROR")
    assert detail_paths(wrong) == {("currentPassword",)}
    short = await browser.post("/api/auth/change-password", json={"currentPassword": user.password, "newPassword": "x"})
    assert_stock_error(short, 400, "VALIDATION_ERROR")
    assert detail_paths(short) == {("newPassword",)}

    done = await browser.post("/api/auth/change-password",
                              json={"currentPassword": user.password, "newPassword": "newpassword"})
    assert done.status_code == 200 and done.json()["success"] is True
    assert (await browser.get("/api/auth/session")).json()["user"]["username"] == user.username  # this one stays
    assert_stock_error(await api.get("/api/locations", headers=user.headers), 401, "NOT_AUTHENTICATED")  # others end
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as fresh:
        assert (await sign_in(fresh, user.email, "newpassword")).status_code == 200


async def test_update_profile_with_the_contract_body(api: httpx.AsyncClient, make_user: MakeUser,
                                                     session_factory: Any):
    user, other = await make_user("OPERATOR"), await make_user("OPERATOR")
    email = f"{unique('new')}@example.com"
    response = await api.patch("/api/auth/profile", headers=user.headers,
                               json={"full_name": "Updated Name", "email": email})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert (response.json()["user"]["full_name"], response.json()["user"]["email"]) == ("Updated Name", email)
    assert "USER_UPDATED" in audit_actions(session_factory, "user", user.id)
    clash = await api.patch("/api/auth/profile", headers=user.headers, json={"email": other.email})
    assert_stock_error(clash, 409, "DUPLICATE_ENTRY")
    invalid = await api.patch("/api/auth/profile", headers=user.headers, json={"email": "nope"})
    assert_stock_error(invalid, 400, "VALIDATION_ERROR")
    assert detail_paths(invalid) == {("email",)}


async def test_the_cookie_is_secure_in_production(settings: Any, engine: Any, temporal_client: Any,
                                                  make_user: MakeUser):
    user = await make_user("OPERATOR")
    app = create_app(settings.model_copy(update={"environment": "production"}), engine, temporal_client)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await sign_in(client, user.email, user.password)
            assert response.status_code == 200 and "secure" in response.headers["set-cookie"].lower()
            logout = await client.post("/api/auth/logout", headers={"Authorization": f"Bearer {user.token}"})
            assert "secure" in logout.headers["set-cookie"].lower()
