"""`/api/v1/auth/*`: login, refresh, logout, change-password, me/validate/permissions, login history,
register and login throttling, through the real app."""

import asyncio
import time
import warnings
from typing import Any

import httpx

from core.settings import Settings
from tests.conftest import PASSWORD, MakeUser, unique
from tests.conftest import TestUser as AppUser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import jwt

LOGIN = "/api/v1/auth/login"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AuthTest/1.0"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str, settings: Settings) -> dict[str, Any]:
    return dict(jwt.decode(token, settings.jwt_secret))


async def login(api: httpx.AsyncClient, username: str, password: str = PASSWORD, **kwargs: Any) -> httpx.Response:
    return await api.post(LOGIN, json={"username": username, "password": password}, **kwargs)


async def login_ok(api: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await login(api, username, password)
    assert response.status_code == 200, response.text
    return response.json()


async def history(api: httpx.AsyncClient, reader: AppUser, user_id: int) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/auth/all-login-history", params={"user_id": user_id, "limit": 100},
                             headers=reader.headers)
    assert response.status_code == 200, response.text
    return response.json()["login_history"]


# --- login --------------------------------------------------------------------------------------------

async def test_login_form_urlencoded_with_email_as_username(api, make_user: MakeUser, settings: Settings):
    user = await make_user("engineer", full_name="Form Login")
    response = await api.post(LOGIN, data={"username": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_seconds
    assert body["user"]["id"] == user.id
    assert body["user"]["username"] == user.username and body["user"]["email"] == user.email
    assert body["user"]["user_id"] == user.username and body["user"]["role"] == "engineer"
    assert body["user"]["full_name"] == "Form Login" and body["user"]["is_active"] is True
    me = await api.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user.id


async def test_login_json_tokens_carry_the_contract_claims(api, make_user: MakeUser, settings: Settings):
    user = await make_user("qa")
    body = await login_ok(api, user.username)
    access, refresh = claims_of(body["access_token"], settings), claims_of(body["refresh_token"], settings)
    assert access["sub"] == str(user.id) and access["role"] == "qa" and access["type"] == "access"
    assert refresh["sub"] == str(user.id) and refresh["type"] == "refresh"
    assert access["jti"] and refresh["jti"] and access["jti"] != refresh["jti"]
    now = time.time()
    assert abs(access["exp"] - (now + settings.access_token_seconds)) < 60
    assert abs(refresh["exp"] - (now + settings.refresh_token_seconds)) < 60
    again = await login_ok(api, user.username)
    assert claims_of(again["access_token"], settings)["jti"] != access["jti"]


async def test_login_name_is_case_insensitive(api, make_user: MakeUser):
    user = await make_user("viewer")
    body = await login_ok(api, user.username.upper())
    assert body["user"]["id"] == user.id


async def test_login_with_wrong_password_or_unknown_user_is_401(api, make_user: MakeUser):
    user = await make_user("viewer")
    wrong = await login(api, user.username, "not-the-password")
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Incorrect username or password", "code": "INVALID_CREDENTIALS"}
    unknown = await login(api, unique("nobody"), PASSWORD)
    assert unknown.status_code == 401 and unknown.json()["code"] == "INVALID_CREDENTIALS"


async def test_login_of_inactive_user_is_401_even_with_right_password(api, admin: AppUser):
    handle = unique("inactive")
    created = await api.post("/api/v1/auth/users", headers=admin.headers, json={
        "user_id": handle, "username": handle, "email": f"{handle}@example.com", "password": PASSWORD,
        "role": "viewer", "is_active": False})
    assert created.status_code == 201, created.text
    response = await login(api, handle)
    assert response.status_code == 401
    assert response.json() == {"detail": "User account is inactive", "code": "USER_INACTIVE"}


async def test_login_without_password_is_a_fastapi_shaped_422(api):
    response = await api.post(LOGIN, json={"username": "someone"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"][-1] == "password" and detail[0]["msg"]


# --- refresh ------------------------------------------------------------------------------------------

async def test_refresh_by_query_param_rotates_the_refresh_token(api, make_user: MakeUser, settings: Settings):
    user = await make_user("store")
    response = await api.post("/api/v1/auth/refresh", params={"refresh_token": user.refresh_token})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == settings.access_token_seconds
    assert body["refresh_token"] != user.refresh_token
    assert claims_of(body["access_token"], settings)["type"] == "access"
    me = await api.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user.id

    reused = await api.post("/api/v1/auth/refresh", params={"refresh_token": user.refresh_token})
    assert reused.status_code == 401
    assert reused.json() == {"detail": "Invalid refresh token", "code": "INVALID_REFRESH_TOKEN"}
    rotated = await api.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert rotated.status_code == 200, rotated.text


async def test_refresh_by_json_body_and_rejects_access_tokens(api, make_user: MakeUser):
    user = await make_user("purchase")
    with_access = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.token})
    assert with_access.status_code == 401 and with_access.json()["code"] == "INVALID_REFRESH_TOKEN"
    garbage = await api.post("/api/v1/auth/refresh", json={"refresh_token": "not.a.token"})
    assert garbage.status_code == 401
    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 200, response.text
    missing = await api.post("/api/v1/auth/refresh", json={})
    assert missing.status_code == 422


async def test_refresh_token_is_not_accepted_as_bearer(api, make_user: MakeUser):
    user = await make_user("viewer")
    response = await api.get("/api/v1/auth/me", headers=bearer(user.refresh_token))
    assert response.status_code == 401


# --- logout -------------------------------------------------------------------------------------------

async def test_logout_revokes_that_sessions_access_and_refresh_tokens(api, make_user: MakeUser):
    user = await make_user("technician")
    other = await login_ok(api, user.username)
    response = await api.post("/api/v1/auth/logout", headers=user.headers)
    assert response.status_code == 200 and response.json() == {"message": "Successfully logged out"}

    me = await api.get("/api/v1/auth/me", headers=user.headers)
    assert me.status_code == 401 and me.json()["code"] == "TOKEN_REVOKED"
    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 401
    again = await api.post("/api/v1/auth/logout", headers=user.headers)
    assert again.status_code == 401
    # the user's other session is untouched
    assert (await api.get("/api/v1/auth/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_refreshed_tokens_of_a_logged_out_session_are_rejected_too(api, make_user: MakeUser):
    user = await make_user("viewer")
    fresh = (await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})).json()
    assert (await api.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=bearer(fresh["access_token"]))).status_code == 401
    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert refreshed.status_code == 401


# --- change password ----------------------------------------------------------------------------------

async def test_change_password_json_revokes_other_sessions_and_keeps_this_one(api, make_user: MakeUser):
    user = await make_user("engineer")
    other = await login_ok(api, user.username)
    new_password = "brand-new-pass-1"
    response = await api.post("/api/v1/auth/change-password", headers=user.headers,
                              json={"current_password": PASSWORD, "new_password": new_password})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Password changed successfully"}

    assert (await api.get("/api/v1/auth/me", headers=user.headers)).status_code == 200
    assert (await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})).status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=bearer(other["access_token"]))).status_code == 401
    stale = await api.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert stale.status_code == 401
    assert (await login(api, user.username, PASSWORD)).status_code == 401
    assert (await login(api, user.username, new_password)).status_code == 200


async def test_change_password_by_query_params_as_the_aerospace_contract_shows(api, make_user: MakeUser):
    user = await make_user("viewer")
    response = await api.post("/api/v1/auth/change-password", headers=user.headers,
                              params={"current_password": PASSWORD, "new_password": "newpass123"})
    assert response.status_code == 200, response.text
    assert (await login(api, user.email, "newpass123")).status_code == 200


async def test_change_password_rejects_wrong_current_and_short_new(api, make_user: MakeUser):
    user = await make_user("viewer")
    other = await login_ok(api, user.username)
    wrong = await api.post("/api/v1/auth/change-password", headers=user.headers,
                           json={"current_password": "wrong-password", "new_password": "long-enough-1"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Incorrect current password"
    short = await api.post("/api/v1/auth/change-password", headers=user.headers,
                           json={"current_password": PASSWORD, "new_password": "short7!"})
    assert short.status_code == 400 and short.json()["code"] == "VALIDATION_ERROR"
    assert "8" in short.json()["detail"]
    # nothing changed: the old password still works and the other session is still open
    assert (await login(api, user.username, PASSWORD)).status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_change_password_needs_a_token(api):
    response = await api.post("/api/v1/auth/change-password",
                              json={"current_password": PASSWORD, "new_password": "long-enough-1"})
    assert response.status_code == 401


# --- me, validate, permissions ------------------------------------------------------------------------

async def test_me_is_the_union_of_both_contracts_user_fields(api, make_user: MakeUser):
    user = await make_user("director", full_name="Dana Director", department="ADMINISTRATION",
                           can_approve_workflows=True, approval_limit=25000)
    response = await api.get("/api/v1/auth/me", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    aerospace = {"id", "email", "full_name", "employee_id", "phone", "department", "designation", "role",
                 "is_active", "is_superuser", "can_approve_workflows", "approval_limit", "last_login", "notes",
                 "created_at", "updated_at"}
    battery_rul = {"user_id", "username", "email", "full_name", "role", "is_active", "created_at", "updated_at"}
    assert aerospace | battery_rul <= set(body)
    assert "password_hash" not in body and "password" not in body
    assert body["id"] == user.id and body["username"] == user.username and body["role"] == "director"
    assert body["approval_limit"] == 25000 and body["department"] == "ADMINISTRATION"
    assert body["last_login"].endswith("Z") and body["created_at"].endswith("Z")


async def test_validate_answers_the_contract_shape(api, make_user: MakeUser):
    user = await make_user("purchase")
    response = await api.get("/api/v1/auth/validate", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"valid": True, "user_id": user.id, "email": user.email, "role": "purchase",
                               "is_superuser": False}


async def test_permissions_of_director_are_all(api, make_user: MakeUser):
    user = await make_user("director", can_approve_workflows=True)
    response = await api.get("/api/v1/auth/permissions", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"user_id": user.id, "email": user.email, "role": "director",
                               "role_description": "Full system access - can perform all operations",
                               "is_superuser": False, "can_approve_workflows": True, "approval_limit": None,
                               "permissions": ["ALL"]}


async def test_permissions_of_a_store_user_list_its_role(api, make_user: MakeUser):
    user = await make_user("STORE")
    body = (await api.get("/api/v1/auth/permissions", headers=user.headers)).json()
    assert body["role"] == "store"
    assert set(body["permissions"]) >= {"view_materials", "manage_inventory", "receive_materials", "stocktake"}
    assert "manage_users" not in body["permissions"] and "ALL" not in body["permissions"]


# --- login history ------------------------------------------------------------------------------------

async def test_login_history_records_ip_agent_success_and_reason(api, make_user: MakeUser):
    user = await make_user("viewer")
    assert (await login(api, user.username, "bad-password", headers=BROWSER)).status_code == 401
    assert (await login(api, user.email, headers={**BROWSER, "X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
            ).status_code == 200
    response = await api.get("/api/v1/auth/login-history", params={"limit": 10}, headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user.id
    newest, failed, first = body["login_history"][:3]
    # the test client's peer (10.1.2.3) is no trusted proxy: its X-Forwarded-For is not believed
    assert newest["success"] is True and newest["ip_address"] == "10.1.2.3" and newest["is_logout"] is False
    assert newest["user_agent"] == BROWSER["User-Agent"] and newest["failure_reason"] is None
    assert failed["success"] is False and failed["failure_reason"] == "Invalid password"
    assert failed["ip_address"] == "10.1.2.3" and failed["user_agent"] == BROWSER["User-Agent"]
    assert first["success"] is True  # make_user's own login
    assert newest["login_at"] >= failed["login_at"] >= first["login_at"] and newest["login_at"].endswith("Z")
    limited = await api.get("/api/v1/auth/login-history", params={"limit": 1}, headers=user.headers)
    assert len(limited.json()["login_history"]) == 1


async def test_logout_appears_in_login_history(api, make_user: MakeUser, admin: AppUser):
    user = await make_user("viewer")
    assert (await api.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    entries = await history(api, admin, user.id)
    assert entries[0]["is_logout"] is True and entries[0]["user_id"] == user.id


async def test_all_login_history_is_for_directors_and_admins(api, make_user: MakeUser, admin: AppUser):
    director = await make_user("director")
    subject = await make_user("viewer")
    await login(api, subject.username, "bad-password")
    for reader in (director, admin):
        response = await api.get("/api/v1/auth/all-login-history", params={"user_id": subject.id},
                                  headers=reader.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["total_records"] == 2
        assert [e["success"] for e in body["login_history"]] == [False, True]
        assert all(e["user_id"] == subject.id for e in body["login_history"])
    success_only = await api.get("/api/v1/auth/all-login-history",
                                 params={"user_id": subject.id, "success_only": "true"}, headers=admin.headers)
    assert success_only.json()["total_records"] == 1
    for role in ("head_of_operations", "viewer", "qa"):
        other = await make_user(role)
        denied = await api.get("/api/v1/auth/all-login-history", headers=other.headers)
        assert denied.status_code == 403 and denied.json()["code"] == "ACCESS_DENIED"


# --- register -----------------------------------------------------------------------------------------

def register_body(**overrides: Any) -> dict[str, Any]:
    name = unique("john.engineer")
    return {"email": f"{name}@company.com", "password": "securePassword123", "full_name": "John Engineer",
            "employee_id": "EMP-001", "phone": "+1-555-0101", "department": "ENGINEERING",
            "designation": "Senior Materials Engineer", "role": "engineer", "is_active": True,
            "is_superuser": False, "can_approve_workflows": False, "approval_limit": 5000.00,
            "notes": "Senior Materials Engineer - Titanium specialist", **overrides}


async def test_register_as_the_contract_example_then_log_in(api, make_user: MakeUser):
    director = await make_user("director")
    body = register_body()
    response = await api.post("/api/v1/auth/register", headers=director.headers, json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    for field in ("email", "full_name", "employee_id", "phone", "department", "designation", "role",
                  "is_active", "is_superuser", "can_approve_workflows", "notes"):
        assert user[field] == body[field], field
    assert user["approval_limit"] == 5000 and user["last_login"] is None and isinstance(user["id"], int)
    assert user["username"] and user["user_id"]
    assert (await login(api, body["email"], body["password"])).status_code == 200
    assert (await login(api, user["username"], body["password"])).status_code == 200


async def test_register_is_for_directors_admins_and_superusers(api, make_user: MakeUser, admin: AppUser):
    superuser = await make_user("viewer", is_superuser=True)
    for caller in (admin, superuser):
        response = await api.post("/api/v1/auth/register", headers=caller.headers, json=register_body())
        assert response.status_code == 201, response.text
    for role in ("head_of_operations", "engineer", "viewer"):
        caller = await make_user(role)
        body = register_body()
        denied = await api.post("/api/v1/auth/register", headers=caller.headers, json=body)
        assert denied.status_code == 403 and denied.json()["code"] == "ACCESS_DENIED"
        assert (await login(api, body["email"], body["password"])).status_code == 401
    anonymous = await api.post("/api/v1/auth/register", json=register_body())
    assert anonymous.status_code == 401


async def test_register_matches_roles_case_insensitively(api, admin: AppUser):
    for spelling, stored in (("QA", "qa"), ("Head_Of_Operations", "head_of_operations"),
                             ("SYSTEM_ADMIN", "system_admin")):
        response = await api.post("/api/v1/auth/register", headers=admin.headers,
                                  json=register_body(role=spelling))
        assert response.status_code == 201, response.text
        assert response.json()["role"] == stored


async def test_register_rejects_bad_input(api, admin: AppUser):
    bad_role = await api.post("/api/v1/auth/register", headers=admin.headers, json=register_body(role="root"))
    assert bad_role.status_code == 400 and bad_role.json()["code"] == "INVALID_ROLE"
    short = await api.post("/api/v1/auth/register", headers=admin.headers, json=register_body(password="1234567"))
    assert short.status_code == 400
    bad_email = await api.post("/api/v1/auth/register", headers=admin.headers,
                               json=register_body(email="not-an-email"))
    assert bad_email.status_code == 422
    assert bad_email.json()["detail"][0]["loc"] == ["body", "email"]
    first = register_body()
    assert (await api.post("/api/v1/auth/register", headers=admin.headers, json=first)).status_code == 201
    again = await api.post("/api/v1/auth/register", headers=admin.headers,
                           json=register_body(email=first["email"].upper()))
    assert again.status_code == 400 and again.json()["code"] == "DUPLICATE_USER"


async def test_register_two_users_whose_emails_share_the_local_part(api, admin: AppUser):
    local = unique("sam")
    for domain in ("alpha.example.com", "beta.example.com"):
        response = await api.post("/api/v1/auth/register", headers=admin.headers,
                                  json=register_body(email=f"{local}@{domain}"))
        assert response.status_code == 201, response.text
        assert (await login(api, f"{local}@{domain}", "securePassword123")).status_code == 200


# --- throttling ---------------------------------------------------------------------------------------

async def test_five_failures_lock_the_username_even_for_the_right_password(api, make_user: MakeUser,
                                                                           settings: Settings):
    user = await make_user("viewer")
    for _ in range(5):
        assert (await login(api, user.username, "wrong-password", headers=BROWSER)).status_code == 401
    locked = await login(api, user.username, PASSWORD, headers=BROWSER)
    assert locked.status_code == 429
    assert locked.json()["code"] == "TOO_MANY_ATTEMPTS"
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= settings.login_lockout_seconds
    assert (await login(api, user.email, PASSWORD)).status_code == 429

    # the session opened before the lockout still works, and its history shows every attempt
    response = await api.get("/api/v1/auth/login-history", params={"limit": 20}, headers=user.headers)
    entries = response.json()["login_history"]
    reasons = [e["failure_reason"] for e in entries if not e["success"]]
    assert reasons.count("Invalid password") == 5
    assert reasons.count("Too many failed attempts") == 2
    assert all(e["ip_address"] == "10.1.2.3" for e in entries)


async def test_lockout_counts_failures_under_every_login_name_of_the_user(api, make_user: MakeUser):
    user = await make_user("viewer")
    for name in (user.username, user.email, user.username.upper(), user.email, user.username):
        assert (await login(api, name, "wrong-password")).status_code == 401
    assert (await login(api, user.email, PASSWORD)).status_code == 429
    assert (await login(api, user.username, PASSWORD)).status_code == 429


async def test_unknown_usernames_are_throttled_too(api):
    name = unique("ghost")
    for _ in range(5):
        assert (await login(api, name, "whatever-pass")).status_code == 401
    locked = await login(api, name, "whatever-pass")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


async def test_four_failures_then_success_resets_the_count(api, make_user: MakeUser):
    user = await make_user("viewer")
    for _ in range(4):
        assert (await login(api, user.username, "wrong-password")).status_code == 401
    assert (await login(api, user.username)).status_code == 200
    for _ in range(4):
        assert (await login(api, user.username, "wrong-password")).status_code == 401
    assert (await login(api, user.username)).status_code == 200


async def test_concurrent_failures_cannot_exceed_the_limit(api, make_user: MakeUser):
    user = await make_user("viewer")
    responses = await asyncio.gather(*(login(api, user.username, f"wrong-{i}") for i in range(9)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 4


async def test_lockout_of_one_user_leaves_others_alone(api, make_user: MakeUser):
    locked_user, other = await make_user("viewer"), await make_user("viewer")
    for _ in range(5):
        await login(api, locked_user.username, "wrong-password")
    assert (await login(api, locked_user.username)).status_code == 429
    assert (await login(api, other.username)).status_code == 200
