"""Issue 10 §5, trust and headers: X-Forwarded-For only from trusted proxies (audit rows, login history, the
stock rate limit), the per-address login throttle, the settings refused at load, and the security headers."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.app import create_app
from api.middleware.rate_limit import client_key
from api.middleware.request_context import caller_ip
from api.middleware.security_headers import with_security_headers
from core.db import session_scope
from core.settings import DEV_JWT_SECRET, Settings
from services import identity
from tests.audit.test_audit_trail import location_pk, trail
from tests.conftest import PASSWORD, MakeUser, TestUser, unique
from tests.stock.test_auth import assert_stock_error

V1_LOGIN = "/api/v1/auth/login"
STOCK_LOGIN = "/api/auth/login"
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def fresh_address() -> str:
    """An address no other test calls from (the login history is shared by the whole session)."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


@asynccontextmanager
async def clients(settings: Settings, engine: Engine, temporal_client: Client, *peers: str,
                  **overrides: Any) -> AsyncIterator[list[httpx.AsyncClient]]:
    """An app of its own (settings changed by `overrides`), and one client per peer address."""
    app = create_app(settings.model_copy(update=overrides), engine, temporal_client)
    async with app.router.lifespan_context(app):
        made = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 4000)),
                                  base_url="http://testserver", timeout=30) for peer in peers]
        try:
            yield made
        finally:
            for client in made:
                await client.aclose()


def scope(peer: str | None, forwarded: str | None = None, allow: str = "127.0.0.1,::1") -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(forwarded_allow_ips=allow)))
    return {"type": "http", "client": (peer, 1234) if peer else None, "headers": headers, "app": app}


def new_user(session_factory: Any, role: str = "viewer") -> str:
    name = unique("trust")
    with session_scope(session_factory) as session:
        identity.create_user(session, None, {"email": f"{name}@example.com", "username": name,
                                             "password": PASSWORD, "role": role})
    return name


# --- 1. X-Forwarded-For from trusted proxies only ------------------------------------------------------

def test_the_caller_is_the_peer_unless_the_peer_is_a_trusted_proxy():
    assert caller_ip(scope("10.1.2.3", "6.6.6.6")) == "10.1.2.3"  # not a proxy of ours: header ignored
    assert caller_ip(scope("10.1.2.3")) == "10.1.2.3"
    assert caller_ip(scope("127.0.0.1", "6.6.6.6")) == "6.6.6.6"
    # from the right: what the trusted proxy saw, not what the caller wrote to the left of it
    assert caller_ip(scope("127.0.0.1", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert caller_ip(scope("::1", "203.0.113.9:5123")) == "203.0.113.9"  # a port is not part of the address
    chain = "6.6.6.6, 203.0.113.9, 10.0.0.7"  # two proxies: a load balancer (10/8) and the local one
    assert caller_ip(scope("127.0.0.1", chain, "127.0.0.1,10.0.0.0/8")) == "203.0.113.9"
    assert caller_ip(scope("10.0.0.7", "[2001:db8::5]:443", "10.0.0.0/8")) == "2001:db8::5"
    assert caller_ip(scope("127.0.0.1", "10.0.0.8, 10.0.0.7", "127.0.0.1,10.0.0.0/8")) == "10.0.0.8"  # all proxies
    assert caller_ip(scope("10.9.9.9", "6.6.6.6", "*")) == "6.6.6.6"
    assert caller_ip(scope(None, "6.6.6.6")) is None


def test_the_anonymous_rate_limit_key_is_the_caller_address():
    assert client_key(scope("10.1.2.3", "6.6.6.6")) == "address:10.1.2.3"
    assert client_key(scope("127.0.0.1", "6.6.6.6")) == "address:6.6.6.6"


async def test_a_spoofed_forwarded_for_is_not_recorded(api: httpx.AsyncClient, admin: TestUser,
                                                       session_factory: Any):
    """The `api` client's peer (10.1.2.3) is no trusted proxy: its X-Forwarded-For is nobody's address."""
    name = new_user(session_factory)
    spoofed = {"X-Forwarded-For": "6.6.6.6"}
    assert (await api.post(V1_LOGIN, json={"username": name, "password": "wrong"}, headers=spoofed)).status_code == 401
    signed_in = await api.post(V1_LOGIN, json={"username": name, "password": PASSWORD}, headers=spoofed)
    assert signed_in.status_code == 200
    token = signed_in.json()["access_token"]
    history = (await api.get("/api/v1/auth/login-history", headers={"Authorization": f"Bearer {token}"})).json()
    assert [h["ip_address"] for h in history["login_history"]] == ["10.1.2.3", "10.1.2.3"]

    created = await api.post("/api/locations", json={"code": unique("TRUST").upper(), "name": "Dock",
                                                     "type": "STORE"}, headers={**admin.headers, **spoofed})
    assert created.status_code == 200, created.text
    [row] = await trail(api, admin, entity_type="location", action_type="LOCATION_CREATED",
                        entity_id=str(location_pk(session_factory, created.json()["id"])))
    assert row["ip_address"] == "10.1.2.3"
    failed = await trail(api, admin, entity_type="user", action_type="LOGIN_FAILED",
                         entity_id=str(signed_in.json()["user"]["id"]))
    assert [(r["ip_address"], r["payload_diff"]["ip_address"]["new"]) for r in failed] == [("10.1.2.3", "10.1.2.3")]


async def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(settings: Settings, engine: Engine,
                                                                         temporal_client: Client,
                                                                         admin: TestUser, api: httpx.AsyncClient,
                                                                         session_factory: Any):
    name = new_user(session_factory)
    async with clients(settings, engine, temporal_client, "127.0.0.1") as [proxied]:
        forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # the proxy appended the caller it saw
        signed_in = await proxied.post(V1_LOGIN, json={"username": name, "password": PASSWORD}, headers=forwarded)
        assert signed_in.status_code == 200
        token = signed_in.json()["access_token"]
        history = (await proxied.get("/api/v1/auth/login-history",
                                     headers={"Authorization": f"Bearer {token}"})).json()["login_history"]
        assert history[0]["ip_address"] == "203.0.113.9"
        created = await proxied.post("/api/locations", json={"code": unique("PROXIED").upper(), "name": "Dock",
                                                             "type": "STORE"},
                                     headers={**admin.headers, "X-Forwarded-For": "203.0.113.7"})
        assert created.status_code == 200, created.text
    [row] = await trail(api, admin, entity_type="location", action_type="LOCATION_CREATED",
                        entity_id=str(location_pk(session_factory, created.json()["id"])))
    assert row["ip_address"] == "203.0.113.7"


async def test_a_spoofed_forwarded_for_does_not_escape_the_anonymous_rate_limit(settings: Settings, engine: Engine,
                                                                                temporal_client: Client):
    limit = 3
    async with clients(settings, engine, temporal_client, "10.1.2.3", "127.0.0.1",
                       rate_limit_per_minute=limit) as [direct, proxied]:
        for _ in range(limit):
            assert (await direct.get("/api/auth/session")).status_code == 200
        for spoof in ("6.6.6.6", "6.6.6.7, 6.6.6.8"):
            refused = await direct.get("/api/auth/session", headers={"X-Forwarded-For": spoof})
            assert_stock_error(refused, 429, "RATE_LIMITED")
        # from a trusted proxy each forwarded caller has a budget of its own
        for _ in range(limit):
            assert (await proxied.get("/api/auth/session", headers={"X-Forwarded-For": "203.0.113.50"})
                    ).status_code == 200
        assert_stock_error(await proxied.get("/api/auth/session", headers={"X-Forwarded-For": "203.0.113.50"}),
                           429, "RATE_LIMITED")
        assert (await proxied.get("/api/auth/session", headers={"X-Forwarded-For": "203.0.113.51"})
                ).status_code == 200


# --- 2. per-address login throttle ---------------------------------------------------------------------

async def test_failed_logins_from_one_address_are_throttled_across_usernames_and_both_endpoints(
        settings: Settings, engine: Engine, temporal_client: Client, session_factory: Any,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "login_address_max_failures", 20)
    monkeypatch.setattr(settings, "login_address_window_seconds", 300)
    victim = new_user(session_factory)
    async with clients(settings, engine, temporal_client, fresh_address(), fresh_address()) as [attacker, other]:
        for i in range(10):  # 20 failures, over 20 usernames, half on each login endpoint
            assert (await attacker.post(V1_LOGIN, json={"username": unique(f"guess{i}"), "password": "x"})
                    ).status_code == 401
            assert_stock_error(await attacker.post(STOCK_LOGIN, json={"email": unique(f"guess{i}"), "password": "x"}),
                               401, "NOT_AUTHENTICATED")

        refused = await attacker.post(V1_LOGIN, json={"username": unique("guess"), "password": "x"})
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
        assert 0 < int(refused.headers["Retry-After"]) <= 300
        assert refused.json()["details"]["limit"] == 20
        stock_refused = assert_stock_error(await attacker.post(STOCK_LOGIN, json={"email": victim, "password": "x"}),
                                           429, "RATE_LIMITED")
        assert stock_refused["data"]["details"]["retry_after"] > 0
        # the right password does not help the throttled address either
        assert (await attacker.post(V1_LOGIN, json={"username": victim, "password": PASSWORD})).status_code == 429
        for _ in range(settings.login_max_failures + 1):  # refused attempts do not lock the victim's account out
            assert (await attacker.post(V1_LOGIN, json={"username": victim, "password": "x"})).status_code == 429

        # another address is not affected
        assert (await other.post(V1_LOGIN, json={"username": unique("guess"), "password": "x"})).status_code == 401
        assert (await other.post(V1_LOGIN, json={"username": victim, "password": PASSWORD})).status_code == 200
        signed_in = await other.post(STOCK_LOGIN, json={"email": victim, "password": PASSWORD})
        assert signed_in.status_code == 200 and signed_in.json()["success"] is True


async def test_successful_logins_do_not_count_towards_the_address_throttle(
        settings: Settings, engine: Engine, temporal_client: Client, session_factory: Any,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "login_address_max_failures", 3)
    name = new_user(session_factory)
    async with clients(settings, engine, temporal_client, fresh_address()) as [caller]:
        for _ in range(5):
            assert (await caller.post(V1_LOGIN, json={"username": name, "password": PASSWORD})).status_code == 200
        for _ in range(3):
            assert (await caller.post(V1_LOGIN, json={"username": unique("guess"), "password": "x"})
                    ).status_code == 401
        # a success does not reset it either (one valid account must not buy more guesses at others)
        assert (await caller.post(V1_LOGIN, json={"username": name, "password": PASSWORD})).status_code == 429


# --- 3. settings refused at load -----------------------------------------------------------------------

@pytest.mark.parametrize("environment", ["prod", "Production", "PRODUCTION", "staging", "dev", ""])
def test_an_unknown_environment_is_refused(environment: str):
    with pytest.raises(ValidationError, match="ENVIRONMENT must be one of development, test, production"):
        Settings(environment=environment)


def test_production_refuses_a_short_or_development_jwt_secret():
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment="production", jwt_secret="a")
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment="production", jwt_secret="x" * 31)
    with pytest.raises(ValidationError, match="JWT_SECRET must be set"):
        Settings(environment="production", jwt_secret=DEV_JWT_SECRET)
    assert Settings(environment="production", jwt_secret="x" * 32).production
    assert Settings(environment="production", jwt_secret="é" * 16).production  # 32 bytes in UTF-8
    for environment in ("development", "test"):
        assert not Settings(environment=environment, jwt_secret="a").production


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="ENVIRONMENT must be one of"):
        Settings()
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", "a")
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings()
    monkeypatch.setenv("JWT_SECRET", "k" * 64)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    monkeypatch.setenv("DOCS_ENABLED", "false")
    monkeypatch.delenv("LOGIN_ADDRESS_MAX_FAILURES")  # the suite turns it off (tests/conftest.py)
    loaded = Settings()
    assert (loaded.forwarded_allow_ips, loaded.docs_enabled) == ("10.0.0.0/8", False)
    assert (loaded.login_address_max_failures, loaded.login_address_window_seconds) == (20, 300)


# --- 4. security headers and the docs toggle -----------------------------------------------------------

def assert_security_headers(response: httpx.Response, csp: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert response.headers.get("content-security-policy") == csp, response.request.url


def test_a_header_the_route_set_is_kept():
    own = [(b"content-type", b"text/html"), (b"content-security-policy", b"default-src 'none'")]
    headers = dict(with_security_headers(own))
    assert headers[b"content-security-policy"] == b"default-src 'none'" and headers[b"x-frame-options"] == b"DENY"
    assert dict(with_security_headers([(b"content-type", b"application/problem+json")]))[
        b"content-security-policy"] == JSON_CSP.encode()


async def test_every_answer_carries_the_security_headers(api: httpx.AsyncClient, admin: TestUser,
                                                         make_user: MakeUser):
    for path, headers in (("/health", {}), ("/api/v1/auth/me", admin.headers), ("/api/locations", admin.headers),
                          ("/api/v1/auth/me", {}), ("/api/locations", {}), ("/no-such-path", {}),
                          ("/openapi.json", {})):
        assert_security_headers(await api.get(path, headers=headers), JSON_CSP)
    assert_security_headers(await api.post(V1_LOGIN, content=b"{"), JSON_CSP)  # a validation error
    docs = await api.get("/docs")  # HTML with scripts from a CDN: framing forbidden, nothing else
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert_security_headers(docs, "frame-ancestors 'none'")
    assert_security_headers(await api.get("/redoc"), "frame-ancestors 'none'")
    inbox = await api.get("/inbox")  # the inbox's own, stricter, policy stays
    assert inbox.status_code == 200 and inbox.headers["x-frame-options"] == "DENY"
    assert inbox.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in inbox.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in inbox.headers["content-security-policy"]


async def test_a_refused_request_carries_the_security_headers(settings: Settings, engine: Engine,
                                                             temporal_client: Client):
    async with clients(settings, engine, temporal_client, fresh_address(), rate_limit_per_minute=1) as [caller]:
        assert (await caller.get("/api/auth/session")).status_code == 200
        refused = await caller.get("/api/auth/session")
        assert refused.status_code == 429
        assert_security_headers(refused, JSON_CSP)
        too_big = await caller.post(V1_LOGIN, content=b"x" * (settings.max_body_bytes + 1),
                                    headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413
        assert_security_headers(too_big, JSON_CSP)


async def test_docs_can_be_turned_off(settings: Settings, engine: Engine, temporal_client: Client):
    async with clients(settings, engine, temporal_client, fresh_address(), docs_enabled=False) as [caller]:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            response = await caller.get(path)
            assert response.status_code == 404, path
            assert_security_headers(response, JSON_CSP)
        assert (await caller.get("/health")).status_code == 200
