"""One PostgreSQL cluster and one Temporal dev server for the whole session, both real, both on free
ports (so the suite runs beside `make run`). Isolation is by unique names and ids per test."""

import asyncio
import inspect
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx
import pytest
import pytest_asyncio

os.environ.update({"BCRYPT_ROUNDS": "4", "TASK_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
                   "UPDATE_TIMEOUT_SECONDS": "8", "LOGIN_LOCKOUT_SECONDS": "900", "RATE_LIMIT_PER_MINUTE": "0",
                   # every test logs in from one address: the per-address login throttle is off but where tested
                   "LOGIN_ADDRESS_MAX_FAILURES": "0"})

from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from core.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from core.heartbeat import Heartbeat  # noqa: E402
from core.migrate import upgrade_to_head  # noqa: E402
from core.search_attributes import ALL_KEYS  # noqa: E402
from core.settings import Settings, get_settings  # noqa: E402
from core.stack import PostgresCluster, free_port, temporal_binary  # noqa: E402
from services import identity  # noqa: E402
from tests.contracts.openapi_answers import OpenApiAnswers  # noqa: E402
from worker import build_worker  # noqa: E402

PASSWORD = "s3cret-pass"
# Low, so long-lived lifecycles really continue-as-new during the suite.
SUGGEST_CONTINUE_AS_NEW_AT = 300


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="mfg-test-"))
    cluster = PostgresCluster(folder, free_port(), fast_unsafe=True)
    cluster.start()
    os.environ["DATABASE_URL"] = cluster.url()
    get_settings.cache_clear()
    upgrade_to_head(cluster.url())
    yield cluster.url()
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=40)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS, port=free_port(),
        dev_server_extra_args=["--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
                               "--dynamic-config-value",
                               f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AT}"])
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


class WorkerControl:
    """The service's worker, running in the test process; fault tests stop and restart it."""

    def __init__(self, client: Client, factory: sessionmaker[Session], task_queue: str,
                 heartbeat_factory: sessionmaker[Session] | None = None) -> None:
        self.client, self.factory, self.task_queue = client, factory, task_queue
        self.worker: Worker | None = None
        self.task: asyncio.Task[None] | None = None
        self.heartbeat = Heartbeat(heartbeat_factory or factory, task_queue, get_settings().worker_heartbeat_seconds)

    def start(self) -> None:
        self.worker = build_worker(self.client, self.factory, self.task_queue)
        self.task = asyncio.create_task(self.worker.run())
        self.heartbeat.start()

    async def stop(self) -> None:
        await self.heartbeat.stop()
        if self.worker is not None and self.task is not None:
            await self.worker.shutdown()
            await self.task
            self.worker, self.task = None, None


@pytest_asyncio.fixture(scope="session")
async def service_worker(temporal_client: Client, session_factory: sessionmaker[Session],
                         settings: Settings, database_url: str) -> AsyncIterator[WorkerControl]:
    # The heartbeat writes on an engine of its own: tests that count the statements on the shared one stay exact.
    heartbeat_engine = make_engine(database_url, pool_size=1)
    control = WorkerControl(temporal_client, session_factory, settings.task_queue,
                            make_sessionmaker(heartbeat_engine))
    control.start()
    yield control
    await control.stop()
    heartbeat_engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def api(settings: Settings, engine: Engine, temporal_client: Client,
              service_worker: WorkerControl) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine, temporal_client)
    answers = OpenApiAnswers(app.openapi())  # every answer is checked against the published document
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30,
                                     event_hooks={"response": [answers.hook]}) as client:
            yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


T = TypeVar("T")
ANY_TRUTHY: Any = object()  # eventually() without `expected`: any truthy answer will do


@overload
async def eventually(probe: Callable[[], Awaitable[T | None]], *, expected: Any = ..., timeout: float = ...,
                     interval: float = ...) -> T: ...
@overload
async def eventually(probe: Callable[[], T | None], *, expected: Any = ..., timeout: float = ...,
                     interval: float = ...) -> T: ...
async def eventually(probe: Callable[[], Any], *, expected: Any = ANY_TRUTHY, timeout: float = 10.0,
                     interval: float = 0.05) -> Any:
    """Poll `probe` (sync or async) until it answers `expected` or, without `expected`, anything truthy; that
    answer is returned. What happens elsewhere (a workflow, a signal, the worker's heartbeat) is not instant;
    after `timeout` seconds an AssertionError names the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if inspect.isawaitable(answer):
            answer = await answer
        if (bool(answer) if expected is ANY_TRUTHY else answer == expected):
            return answer
        if time.monotonic() > deadline:
            wanted = "a truthy answer" if expected is ANY_TRUTHY else f"{expected!r}"
            raise AssertionError(f"not {wanted} within {timeout} s; the last answer was {answer!r}")
        await asyncio.sleep(interval)


@dataclass
class TestUser:
    __test__ = False  # a fixture's product, not a test class
    id: int
    username: str
    email: str
    role: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.fixture(scope="session")
def make_user(api: httpx.AsyncClient, session_factory: sessionmaker[Session]) -> MakeUser:
    """A new user with `role`, logged in through the API."""

    async def make(role: str, **fields: Any) -> TestUser:
        name = unique(role.lower())
        with session_scope(session_factory) as session:
            user = identity.create_user(session, None, {"email": f"{name}@example.com", "username": name,
                                                        "password": PASSWORD, "role": role, **fields})
            user_pk = user.id
        response = await api.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        return TestUser(user_pk, name, f"{name}@example.com", role, PASSWORD, body["access_token"],
                        body["refresh_token"])

    return make


@pytest_asyncio.fixture(scope="session")
async def admin(make_user: MakeUser) -> TestUser:
    return await make_user("admin")
