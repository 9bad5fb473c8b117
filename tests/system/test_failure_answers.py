"""Failures answer what they are (issue 10 §2): an outage of PostgreSQL or Temporal is a 503 with `Retry-After`
in the contract's shape on every path, no exception escapes the app (the server would close the connection),
and readiness names the part that is down, the worker included."""

import uuid
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.app import create_app
from core import temporal
from core.db import make_engine
from core.heartbeat import Heartbeat
from core.settings import Settings
from core.stack import free_port
from tests.conftest import MakeUser, TestUser
from tests.production.helpers import V1, active_sku, crew
from tests.system.test_errors_and_health import client_for


def strict_client(app: FastAPI) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """A client over the app that raises whatever escapes it, as a server would see it."""
    return client_for(app, raise_app_exceptions=True)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    path = response.request.url.path
    if path.startswith(("/api/v1/skus", "/api/v1/batches")):
        assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    elif path.startswith("/api/v1/"):
        assert body["code"] == "SERVICE_UNAVAILABLE" and body["detail"]
    else:
        assert body["statusCode"] == 503 and body["data"]["code"] == "SERVICE_UNAVAILABLE"


async def test_no_exception_escapes_the_app(settings: Settings, engine: Engine, temporal_client: Client):
    app = create_app(settings, engine, temporal_client)

    async def explode() -> None:
        raise RuntimeError("a defect")

    app.add_api_route("/api/v1/explode", explode)
    app.add_api_route("/api/explode", explode)
    async with strict_client(app) as client:  # before: the exception reached the server after the 500
        aerospace = await client.get("/api/v1/explode")
        assert aerospace.status_code == 500 and aerospace.json()["code"] == "INTERNAL_ERROR"
        stock = await client.get("/api/explode")
        assert stock.status_code == 500 and stock.json()["data"]["code"] == "INTERNAL_ERROR"
        assert (await client.get("/health")).status_code == 200


async def test_database_down_is_503_on_every_path(settings: Settings, temporal_client: Client, admin: TestUser):
    dead = make_engine(f"postgresql+psycopg://mfg@127.0.0.1:{free_port()}/mfg", pool_size=1)
    try:
        async with strict_client(create_app(settings, dead, temporal_client)) as client:
            for path in ("/api/v1/skus", "/api/v1/purchase-orders", "/api/v1/materials", "/api/v1/users"):
                assert_unavailable(await client.get(path, headers=admin.headers))
            assert_unavailable(await client.post("/api/v1/auth/login",
                                                 data={"username": "someone", "password": "whatever1"}))
            assert_unavailable(await client.get("/api/items", headers=admin.headers))
            assert_unavailable(await client.post(f"{V1}/batches", json={"sku_id": 1, "target_quantity": 1},
                                                 headers=admin.headers))
    finally:
        dead.dispose()


async def test_temporal_down_is_503_and_nothing_is_half_made(settings: Settings, engine: Engine,
                                                              session_factory: sessionmaker[Session],
                                                              make_user: MakeUser, api: httpx.AsyncClient):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    nowhere = await temporal.connect(settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"}),
                                     lazy=True)
    with session_factory() as session:
        batches_before = session.scalar(text("SELECT count(*) FROM batches WHERE sku_id = :s"), {"s": sku["id"]})
    async with strict_client(create_app(settings, engine, nowhere)) as client:
        response = await client.post(f"{V1}/batches", json={"sku_id": sku["id"], "target_quantity": 2},
                                     headers=c.production.headers)
        assert_unavailable(response)
        assert (await client.get(f"{V1}/skus/{sku['id']}", headers=c.admin.headers)).status_code == 200
    with session_factory() as session:
        assert session.scalar(text("SELECT count(*) FROM batches WHERE sku_id = :s"),
                              {"s": sku["id"]}) == batches_before


@pytest.fixture
def lone_queue(settings: Settings) -> Settings:
    """Settings of an app whose task queue no worker polls (yet)."""
    return settings.model_copy(update={"task_queue": f"ready-{uuid.uuid4().hex[:8]}"})


async def test_ready_names_a_worker_that_never_came(lone_queue: Settings, engine: Engine, temporal_client: Client):
    async with strict_client(create_app(lone_queue, engine, temporal_client)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503 and response.headers["retry-after"]
    body = response.json()
    assert body["status"] == "not_ready" and body["worker"] == "stopped"
    assert body["database"] == "connected" and body["temporal"] == "connected"
    assert "worker" in body["error"]


async def test_ready_follows_the_worker_heartbeat(lone_queue: Settings, engine: Engine, temporal_client: Client,
                                                  session_factory: sessionmaker[Session]):
    with session_factory.begin() as session:  # a worker that beat last a minute ago: frozen, or killed
        session.execute(text("INSERT INTO worker_heartbeats (worker_id, task_queue, host, pid, seen_at) "
                             "VALUES (:w, :q, 'elsewhere', 1, now() - interval '60 seconds')"),
                        {"w": str(uuid.uuid4()), "q": lone_queue.task_queue})
    async with strict_client(create_app(lone_queue, engine, temporal_client)) as client:
        stale = await client.get("/health/ready")
        assert stale.status_code == 503 and stale.json()["worker"] == "stopped"
        assert "not been seen for 60 s" in stale.json()["error"]
        heartbeat = Heartbeat(session_factory, lone_queue.task_queue, every_seconds=0.05)
        heartbeat.start()
        try:
            for _ in range(200):
                response = await client.get("/health/ready")
                if response.status_code == 200:
                    break
            assert response.status_code == 200 and response.json()["worker"] == "running"
        finally:
            await heartbeat.stop()
