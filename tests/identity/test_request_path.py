"""The request path's shortcuts keep their promises: a cached principal never outlives a revocation made in
this process, and one made elsewhere at most by PRINCIPAL_CACHE_SECONDS; a read does not commit; idle pooled
connections are checked, a dead one costs one 503; routers skipped by their path prefix match as before."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Match

from api import app as api_app
from api import deps
from api.app import create_app
from api.routes import ROUTERS
from core import db
from core.db import make_engine, session_scope
from core.settings import Settings
from core.timeutil import utcnow
from services import identity
from services.identity import Principal
from tests.conftest import PASSWORD, MakeUser, unique
from tests.conftest import TestUser as AppUser

LONG_TTL = 60.0  # far longer than any test: whatever is refused at once was not waiting for the TTL
APP_NAME = "request-path-test"  # this file's own engine, so its connections can be told apart


@dataclass
class Client:
    http: httpx.AsyncClient
    engine: Engine
    principals: deps.PrincipalCache


@asynccontextmanager
async def own_app(settings: Settings, temporal_client: Any, ttl: float = LONG_TTL,
                  engine: Engine | None = None) -> AsyncIterator[Client]:
    """An app with its own engine (its statements are the only ones counted) and principal TTL."""
    engine = engine or make_engine(f"{settings.resolved_database_url()}?application_name={APP_NAME}", pool_size=2)
    app: FastAPI = create_app(settings.model_copy(update={"principal_cache_seconds": ttl}), engine, temporal_client)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield Client(http, engine, app.state.principals)
    finally:
        engine.dispose()


async def login(http: httpx.AsyncClient, user: AppUser) -> dict[str, str]:
    response = await http.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def stock_sign_in(http: httpx.AsyncClient, user: AppUser) -> httpx.Response:
    """The stock contract's sign-in: the session cookie is set on `http`."""
    response = await http.post("/api/auth/login", json={"email": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


async def me(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.get("/api/v1/auth/me", headers=headers)


def refused(response: httpx.Response, code: str = "TOKEN_REVOKED") -> bool:
    return response.status_code == 401 and response.json()["code"] == code


# --- the principal cache -------------------------------------------------------------------------------

async def test_a_logout_refuses_the_token_on_the_next_request(settings, temporal_client, make_user: MakeUser):
    user = await make_user("viewer")
    async with own_app(settings, temporal_client) as client:
        headers = await login(client.http, user)
        assert (await me(client.http, headers)).status_code == 200  # now cached for a minute
        assert (await client.http.post("/api/v1/auth/logout", headers=headers)).status_code == 200
        assert refused(await me(client.http, headers))


async def test_a_stock_sign_out_refuses_the_cookie_on_the_next_request(settings, temporal_client,
                                                                      make_user: MakeUser):
    user = await make_user("OPERATOR")
    async with own_app(settings, temporal_client) as client:
        signed_in = await stock_sign_in(client.http, user)
        assert (await client.http.get("/api/items")).status_code == 200  # the cookie's principal, now cached
        assert (await client.http.post("/api/auth/logout")).status_code == 200
        cookie = {deps.STOCK_SESSION_COOKIE: signed_in.cookies[deps.STOCK_SESSION_COOKIE]}
        client.http.cookies.clear()
        assert (await client.http.get("/api/items", cookies=cookie)).status_code == 401


async def test_a_renewed_session_cookie_is_trusted_like_the_one_it_replaces(settings, temporal_client,
                                                                           make_user: MakeUser):
    user = await make_user("OPERATOR")
    async with own_app(settings, temporal_client) as client:
        await stock_sign_in(client.http, user)
        first = client.http.cookies[deps.STOCK_SESSION_COOKIE]
        assert (await client.http.get("/api/auth/session")).status_code == 200
        renewed = client.http.cookies[deps.STOCK_SESSION_COOKIE]
        assert renewed != first
        with traffic(client.engine) as seen:
            assert (await client.http.get("/api/v1/auth/me")).status_code == 200
        assert len(seen["statements"]) == 1  # the route's own query: the renewed cookie was not checked again
        assert (await client.http.post("/api/auth/logout")).status_code == 200
        client.http.cookies.set(deps.STOCK_SESSION_COOKIE, renewed)
        assert refused(await client.http.get("/api/v1/auth/me"))


async def test_a_deactivated_user_is_refused_on_the_next_request(settings, temporal_client, make_user: MakeUser,
                                                               admin: AppUser):
    user = await make_user("viewer")
    async with own_app(settings, temporal_client) as client:
        headers = await login(client.http, user)
        assert (await me(client.http, headers)).status_code == 200
        deleted = await client.http.delete(f"/api/v1/users/{user.id}", headers=await login(client.http, admin))
        assert deleted.status_code == 200, deleted.text
        assert refused(await me(client.http, headers))


async def test_a_password_change_refuses_the_users_other_sessions_at_once(settings, temporal_client,
                                                                        make_user: MakeUser):
    user = await make_user("viewer")
    async with own_app(settings, temporal_client) as client:
        this, other = await login(client.http, user), await login(client.http, user)
        assert (await me(client.http, other)).status_code == 200
        changed = await client.http.post("/api/v1/auth/change-password", headers=this,
                                         json={"current_password": PASSWORD, "new_password": "n3w-secret-pass"})
        assert changed.status_code == 200, changed.text
        assert refused(await me(client.http, other))
        assert (await me(client.http, this)).status_code == 200


async def test_a_role_change_applies_on_the_next_request(settings, temporal_client, make_user: MakeUser,
                                                       admin: AppUser):
    user = await make_user("admin")
    async with own_app(settings, temporal_client) as client:
        headers = await login(client.http, user)
        assert (await client.http.get("/api/v1/users", headers=headers)).status_code == 200
        demoted = await client.http.put(f"/api/v1/users/{user.id}", json={"role": "materials_write"},
                                        headers=await login(client.http, admin))
        assert demoted.status_code == 200, demoted.text
        assert (await client.http.get("/api/v1/users", headers=headers)).status_code == 403


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def revoke_behind_its_back(session_factory: sessionmaker[Session], user: AppUser) -> None:
    """As another API process, or an operator in SQL, would: no word to this process."""
    with session_scope(session_factory) as session:
        session.execute(text("UPDATE auth_sessions SET revoked_at = now() WHERE user_id = :id"), {"id": user.id})


def confirm_with(session_factory: sessionmaker[Session]) -> Any:
    def confirm(session_ids: set[uuid.UUID]) -> dict[uuid.UUID, Principal]:
        with session_scope(session_factory) as session:
            return identity.current_principals(session, session_ids)

    return confirm


async def test_a_sweep_finds_a_revocation_made_elsewhere(settings, temporal_client, make_user: MakeUser,
                                                       session_factory: sessionmaker[Session]):
    user = await make_user("viewer")
    async with own_app(settings, temporal_client) as client:
        headers = await login(client.http, user)
        assert (await me(client.http, headers)).status_code == 200
        revoke_behind_its_back(session_factory, user)
        await asyncio.to_thread(client.principals.sweep, confirm_with(session_factory))
        assert refused(await me(client.http, headers))


async def test_a_principal_is_trusted_for_the_ttl_after_its_last_confirmation(
        settings, temporal_client, make_user: MakeUser, session_factory: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(api_app, "start_principal_sweeper", lambda app: None)  # sweeps by hand here
    user = await make_user("viewer")
    async with own_app(settings, temporal_client, ttl=2.0) as client:
        clock = Clock(1000.0)
        client.principals.clock = clock
        headers = await login(client.http, user)  # confirmed at 1000
        clock.now += 1.5
        await asyncio.to_thread(client.principals.sweep, confirm_with(session_factory))  # confirmed at 1001.5
        clock.now += 1.5
        with traffic(client.engine) as seen:
            assert (await me(client.http, headers)).status_code == 200
        assert len(seen["statements"]) == 1  # the route's own query: the caller was not checked again
        revoke_behind_its_back(session_factory, user)
        clock.now += 0.4
        assert (await me(client.http, headers)).status_code == 200  # within the TTL of the last confirmation
        clock.now += 0.2
        assert refused(await me(client.http, headers))


async def test_a_check_that_read_the_database_before_a_change_is_not_cached():
    cache = deps.PrincipalCache(60.0)
    principal = Principal(1, "u", "u", "u@example.com", "viewer", False, uuid.uuid4())
    expires = utcnow() + timedelta(minutes=5)
    generation = cache.generation  # read, then the database, then...
    cache.forget(frozenset({1}), frozenset())  # ...a change commits before the check is stored
    cache.put("token", principal, expires, cache.clock(), generation)
    assert cache.get("token") is None
    cache.put("token", principal, expires, cache.clock(), cache.generation)
    assert cache.get("token") == principal


def test_a_principal_is_never_trusted_past_its_tokens_expiry():
    cache = deps.PrincipalCache(60.0)
    principal = Principal(1, "u", "u", "u@example.com", "viewer", False, uuid.uuid4())
    cache.put("token", principal, utcnow() + timedelta(seconds=1), cache.clock(), cache.generation)
    assert cache.get("token") == principal
    cache.clock = lambda: time.monotonic() + 1.5
    assert cache.get("token") is None


# --- reads do not commit ---------------------------------------------------------------------------------

@contextmanager
def traffic(engine: Engine) -> Iterator[dict[str, list[Any]]]:
    """The statements run (and whether in autocommit) and the transactions committed on `engine` meanwhile."""
    seen: dict[str, list[Any]] = {"statements": [], "autocommit": [], "commits": []}

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen["statements"].append(sql)
        seen["autocommit"].append(conn.connection.driver_connection.autocommit)

    def commit(conn: Any) -> None:
        seen["commits"].append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


async def test_a_get_runs_its_query_in_autocommit_and_commits_nothing(settings, temporal_client,
                                                                       make_user: MakeUser):
    user = await make_user("materials_write")
    async with own_app(settings, temporal_client) as client:
        writer = await login(client.http, user)
        created = await client.http.post("/api/v1/materials", headers=writer,
                                         json={"name": "Counted", "part_number": unique("CNT")})
        assert created.status_code == 201, created.text
        path = f"/api/v1/materials/{created.json()['id']}"
        headers = await login(client.http, user)  # signed in here: its first request is not checked again
        with traffic(client.engine) as seen:
            assert (await client.http.get(path, headers=headers)).status_code == 200
            assert (await client.http.get(f"/api/v1/materials/{2**31 - 1}", headers=headers)).status_code == 404
        assert len(seen["statements"]) == 2 and seen["commits"] == []  # one query each: no caller check
        assert seen["autocommit"] == [True, True]  # no BEGIN before it, no ROLLBACK after
        with traffic(client.engine) as seen:
            changed = await client.http.put(path, headers=headers, json={"description": "written"})
        assert changed.status_code == 200, changed.text
        assert seen["commits"] == ["COMMIT"] and not any(seen["autocommit"])  # a change is one transaction


# --- pooled connections ------------------------------------------------------------------------------------

def kill_app_connections(session_factory: sessionmaker[Session]) -> int:
    with session_scope(session_factory) as session:
        return len(session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE application_name = :name"), {"name": APP_NAME}).all())


async def connected_app(settings: Settings, temporal_client: Any, idle_seconds: float,
                        monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    url = f"{settings.resolved_database_url()}?application_name={APP_NAME}"
    return own_app(settings, temporal_client, engine=make_engine(url, pool_size=1))


async def test_a_connection_idle_for_a_while_is_checked_before_use(settings, temporal_client,
                                                                   make_user: MakeUser,
                                                                   session_factory: sessionmaker[Session],
                                                                   monkeypatch: pytest.MonkeyPatch):
    user = await make_user("viewer")
    async with await connected_app(settings, temporal_client, 0.05, monkeypatch) as client:
        headers = await login(client.http, user)
        assert (await me(client.http, headers)).status_code == 200
        assert kill_app_connections(session_factory) >= 1
        await asyncio.sleep(0.2)  # idle longer than PING_AFTER_IDLE_SECONDS: checked, found dead, replaced
        assert (await me(client.http, headers)).status_code == 200


async def test_a_connection_that_died_while_busy_costs_one_503(settings, temporal_client, make_user: MakeUser,
                                                               session_factory: sessionmaker[Session],
                                                               monkeypatch: pytest.MonkeyPatch):
    user = await make_user("viewer")
    async with await connected_app(settings, temporal_client, LONG_TTL, monkeypatch) as client:
        headers = await login(client.http, user)
        assert (await me(client.http, headers)).status_code == 200
        assert kill_app_connections(session_factory) >= 1  # in use a moment ago: not checked
        lost = await me(client.http, headers)
        assert lost.status_code == 503 and lost.json()["code"] == "SERVICE_UNAVAILABLE"
        assert lost.headers["retry-after"] == "1"
        assert (await me(client.http, headers)).status_code == 200  # SQLAlchemy replaced the pool


# --- routers skipped by their paths' fixed prefixes ----------------------------------------------------------

def sample_requests() -> list[tuple[str, str]]:
    """Every route's path (parameters filled in), with and without a trailing slash, with every method;
    and paths that only start like one."""
    paths = {"/", "/api", "/api/", "/api/v1", "/api/v1/", "/docs", "/openapi.json", "/api/v1/materialsx",
             "/api/itemsx/1", "/healthz", "/inbox/", "/api/v1/purchase-orders/1/x/y"}
    for router in ROUTERS:
        for route in router.routes:
            path = getattr(route, "path", "")
            for value in ("1", "abc"):
                filled = path.replace("{", "<").replace("}", ">")
                while "<" in filled:
                    start = filled.index("<")
                    filled = filled[:start] + value + filled[filled.index(">", start) + 1:]
                paths |= {filled, filled.rstrip("/") + "/", filled.rstrip("/") or "/"}
    return [(method, path) for path in sorted(paths) for method in ("GET", "POST", "PUT", "PATCH", "DELETE")]


def first_match(app: FastAPI, method: str, path: str) -> tuple[str, int | None]:
    """What the app's router loop picks: the first full match, else the first partial one."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}
    partial = None
    for index, route in enumerate(app.router.routes):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return "full", index
        if match == Match.PARTIAL and partial is None:
            partial = index
    return ("partial", partial) if partial is not None else ("none", None)


def test_skipping_routers_by_prefix_matches_exactly_as_trying_each():
    guarded = create_app()
    unguarded = create_app()
    for route in unguarded.router.routes:
        route.__dict__.pop("matches", None)  # the included router's own matching again
    assert sum("matches" in route.__dict__ for route in guarded.router.routes) == len(ROUTERS)
    for method, path in sample_requests():
        assert first_match(guarded, method, path) == first_match(unguarded, method, path), (method, path)
