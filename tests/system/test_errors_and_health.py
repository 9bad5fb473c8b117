"""Authentication failures, validation, oversize bodies and unexpected errors, each in the route's dialect;
and the public health endpoints."""

import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from api.app import create_app
from core.db import make_engine
from core.settings import Settings
from core.stack import free_port
from tests.conftest import MakeUser
from tests.conftest import TestUser as AppUser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import jwt

AEROSPACE_ROUTES = ["/api/v1/auth/me", "/api/v1/auth/validate", "/api/v1/users", "/api/v1/audit-trail"]
PACK_ROUTE = "/api/v1/skus"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reissued(token: str, settings: Settings, secret: str | None = None, **changes: Any) -> str:
    """The same token with some claims changed, signed with `secret` (default: the service's)."""
    claims = {**jwt.decode(token, settings.jwt_secret), **changes}
    return jwt.encode({"alg": "HS256"}, claims, secret or settings.jwt_secret).decode()


def assert_aerospace_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]


def assert_pack_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]


@asynccontextmanager
async def client_for(app: FastAPI, raise_app_exceptions: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


# --- authentication in each dialect ------------------------------------------------------------------

async def test_missing_token_is_401_in_each_dialect(api):
    for path in AEROSPACE_ROUTES:
        assert_aerospace_error(await api.get(path), 401, "NOT_AUTHENTICATED")
    assert (await api.get("/api/v1/auth/me")).json() == {"detail": "Not authenticated", "code": "NOT_AUTHENTICATED"}
    assert_pack_error(await api.get(PACK_ROUTE), 401, "NOT_AUTHENTICATED")


async def test_malformed_or_foreign_tokens_are_401(api, make_user: MakeUser, settings: Settings):
    user = await make_user("viewer")
    bad_headers = [bearer("not-a-jwt"), bearer(user.token[:-4] + "AAAA"), {"Authorization": f"Basic {user.token}"},
                   {"Authorization": "Bearer "}, bearer(reissued(user.token, settings, secret="x" * 48)),
                   bearer(reissued(user.token, settings, sid="not-a-uuid"))]
    for headers in bad_headers:
        assert_aerospace_error(await api.get("/api/v1/auth/me", headers=headers), 401, "NOT_AUTHENTICATED")
        assert_pack_error(await api.get(PACK_ROUTE, headers=headers), 401, "NOT_AUTHENTICATED")
    assert (await api.get("/api/v1/auth/me", headers=user.headers)).status_code == 200


async def test_unsigned_token_is_refused(api, make_user: MakeUser, settings: Settings):
    user = await make_user("admin")
    header, payload, _ = user.token.split(".")
    none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    for token in (f"{none_header}.{payload}.", f"{none_header}.{payload}"):
        assert_aerospace_error(await api.get("/api/v1/auth/me", headers=bearer(token)), 401, "NOT_AUTHENTICATED")


async def test_token_for_another_user_id_in_the_same_session_is_refused(api, make_user: MakeUser,
                                                                        settings: Settings):
    viewer, admin = await make_user("viewer"), await make_user("admin")
    forged = reissued(viewer.token, settings, sub=str(admin.id), role="admin")
    assert (await api.get("/api/v1/auth/me", headers=bearer(forged))).status_code == 401


async def test_expired_token_is_401_auth_expired_in_each_dialect(api, make_user: MakeUser, settings: Settings):
    user = await make_user("viewer")
    expired = reissued(user.token, settings, exp=int(time.time()) - 60)
    response = await api.get("/api/v1/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired", "code": "AUTH_EXPIRED"}
    assert_aerospace_error(await api.get("/api/v1/users", headers=bearer(expired)), 401, "AUTH_EXPIRED")
    assert_pack_error(await api.get(PACK_ROUTE, headers=bearer(expired)), 401, "AUTH_EXPIRED")
    assert (await api.get("/api/v1/auth/me", headers=user.headers)).status_code == 200


async def test_revoked_token_is_401_in_each_dialect(api, make_user: MakeUser):
    user = await make_user("SUPERVISOR")
    assert (await api.get(PACK_ROUTE, headers=user.headers)).status_code == 200
    assert (await api.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    assert_aerospace_error(await api.get("/api/v1/auth/me", headers=user.headers), 401, "TOKEN_REVOKED")
    assert_pack_error(await api.get(PACK_ROUTE, headers=user.headers), 401, "TOKEN_REVOKED")


async def test_insufficient_permission_is_403_in_each_dialect(api, make_user: MakeUser):
    viewer = await make_user("viewer")
    assert_aerospace_error(await api.get("/api/v1/users", headers=viewer.headers), 403, "ACCESS_DENIED")
    assert_aerospace_error(await api.get("/api/v1/audit-trail", headers=viewer.headers), 403, "ACCESS_DENIED")
    sku = {"sku_code": "SKU-DENIED", "name": "Denied", "cells_per_module": 4, "modules_per_pack": 2}
    assert_pack_error(await api.post(PACK_ROUTE, headers=viewer.headers, json=sku), 403, "ACCESS_DENIED")


async def test_deactivated_users_token_is_401(api, make_user: MakeUser, admin: AppUser):
    user = await make_user("viewer")
    assert (await api.delete(f"/api/v1/users/{user.id}", headers=admin.headers)).status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=user.headers)).status_code == 401
    assert_pack_error(await api.get(PACK_ROUTE, headers=user.headers), 401, "TOKEN_REVOKED")


async def test_session_cookie_carries_the_token_too(api, make_user: MakeUser):
    user = await make_user("viewer")
    response = await api.get("/api/v1/auth/me", headers={"Cookie": f"session={user.token}"})
    assert response.status_code == 200 and response.json()["id"] == user.id


# --- validation, size, unknown routes ----------------------------------------------------------------

async def test_request_validation_in_each_dialect(api, admin: AppUser, make_user: MakeUser):
    aerospace = await api.post("/api/v1/auth/register", headers=admin.headers,
                               json={"email": "nope", "password": "long-enough-1", "approval_limit": "lots"})
    assert aerospace.status_code == 422
    errors = aerospace.json()["detail"]
    assert {tuple(e["loc"]) for e in errors} == {("body", "email"), ("body", "approval_limit")}
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)

    bad_query = await api.get("/api/v1/users", params={"page": 0}, headers=admin.headers)
    assert bad_query.status_code == 422 and bad_query.json()["detail"][0]["loc"] == ["query", "page"]

    supervisor = await make_user("SUPERVISOR")
    pack = await api.post(PACK_ROUTE, headers=supervisor.headers, json={"name": "No code"})
    assert_pack_error(pack, 422, "VALIDATION_ERROR")
    assert {d["field"] for d in pack.json()["error"]["details"]} >= {"sku_code", "cells_per_module"}


async def test_unparseable_login_bodies_are_422(api):
    broken = await api.post("/api/v1/auth/login", content=b'{"username": "a", ',
                            headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and isinstance(broken.json()["detail"], list)
    listed = await api.post("/api/v1/auth/login", json=["username", "password"])
    assert listed.status_code == 422
    empty_form = await api.post("/api/v1/auth/login", data={"username": "someone"})
    assert empty_form.status_code == 422
    assert [e["loc"][-1] for e in empty_form.json()["detail"]] == ["password"]


async def test_oversize_body_is_413_in_the_routes_dialect(api, admin: AppUser, settings: Settings):
    blob = "x" * (settings.max_body_bytes + 1)
    login = await api.post("/api/v1/auth/login", json={"username": "someone", "password": blob})
    assert_aerospace_error(login, 413, "PAYLOAD_TOO_LARGE")
    pack = await api.post(PACK_ROUTE, headers=admin.headers, json={"name": blob})
    assert_pack_error(pack, 413, "PAYLOAD_TOO_LARGE")
    small = await api.post("/api/v1/auth/login", json={"username": "someone", "password": "x" * 100})
    assert small.status_code == 401


async def test_oversize_streamed_body_without_length_is_413(api, admin: AppUser, settings: Settings):
    async def chunks():
        chunk = b"x" * 65536
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    for key in ({}, {"Idempotency-Key": f"big-{time.time_ns()}"}):  # a keyed write is read before its route
        streamed = await api.post(PACK_ROUTE, headers={**admin.headers, **key, "Content-Type": "application/json"},
                                  content=chunks())
        assert "content-length" not in streamed.request.headers
        assert_pack_error(streamed, 413, "PAYLOAD_TOO_LARGE")


async def test_unknown_route_is_404_in_dialect(api):
    assert_aerospace_error(await api.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")


# --- unexpected errors -------------------------------------------------------------------------------

async def test_unexpected_error_is_500_without_internals(settings: Settings, engine, temporal_client):
    app = create_app(settings, engine, temporal_client)

    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/api/v1/boom", explode)
    app.add_api_route("/api/v1/skus/0/explode", explode)
    async with client_for(app) as client:
        response = await client.get("/api/v1/boom")
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal server error", "code": "INTERNAL_ERROR"}
        pack = await client.get("/api/v1/skus/0/explode")
        assert_pack_error(pack, 500, "INTERNAL_ERROR")
        for body in (response.text, pack.text):
            assert "Traceback" not in body and "hunter2" not in body and "RuntimeError" not in body
        assert (await client.get("/health")).status_code == 200


# --- health -------------------------------------------------------------------------------------------

async def test_health_is_public_with_the_contract_shape(api, settings: Settings):
    response = await api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "service": settings.service_name,
                               "version": settings.version, "environment": settings.environment}


async def test_ready_is_public_and_checks_database_and_temporal(api, settings: Settings):
    response = await api.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["service"] == settings.service_name
    assert body["database"] == "connected" and body["temporal"] == "connected"


async def test_ready_is_503_when_the_database_is_down(settings: Settings, temporal_client):
    dead = make_engine(f"postgresql+psycopg://mfg@127.0.0.1:{free_port()}/mfg", pool_size=1)
    try:
        async with client_for(create_app(settings, dead, temporal_client)) as client:
            response = await client.get("/health/ready")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "not_ready" and body["service"] == settings.service_name
            assert body["error"] == "Database connection failed" and body["database"] == "disconnected"
            assert body["temporal"] == "connected"
            assert (await client.get("/health")).status_code == 200
    finally:
        dead.dispose()
