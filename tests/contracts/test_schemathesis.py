"""Property test (issue 10 §1): every operation of the OpenAPI, fed what Schemathesis generates from it (valid and
invalid data: ids beyond `integer`, NUL in strings, wrong types, missing fields), never answers a server error.

It runs against the in-process app, signed in as an admin (a bearer token on `/api/v1`, the stock contract's
session cookie on `/api`), so requests get past 401 into validation and the routes behind it. It has a
PostgreSQL, a Temporal dev server and a worker of its own: generated bodies create, change and delete what they
like (approval templates, periods, users, the caller's own account), which must not leak into other tests.
Deterministic (Hypothesis derandomized, no database of examples), no shrinking; a few examples per operation and
mode keep it to about a minute on two cores, and a time budget bounds it whatever the app does. On failure it lists
each failing operation with the requests that failed it."""

import asyncio
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err, Ok
from schemathesis.generation import GenerationMode
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import STOCK_SESSION_COOKIE
from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade_to_head
from core.search_attributes import ALL_KEYS
from core.settings import Settings
from core.stack import PostgresCluster, free_port, temporal_binary
from services import identity
from tests.conftest import WorkerControl

EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 15}  # per operation and mode
PARALLEL = 6  # requests in flight at once
ANSWER_SECONDS = 30  # a request unanswered this long fails (httpx's ASGI transport has no timeout of its own)
BUDGET_SECONDS = 240  # the operations not reached by then fail too: a hanging lifecycle cannot stall the suite
STOP_SECONDS = 30  # the worker's shutdown waits for running activities: one that never ends fails the test
PASSWORD = "fuzz-admin-pass"
BASE_URL = "http://testserver"
SHOWN = 3  # example requests listed per failing operation


# --- an app of its own --------------------------------------------------------------------------------------

@asynccontextmanager
async def own_stack(settings: Settings, problems: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh PostgreSQL (migrated), a Temporal dev server, the service's worker and the app, in process. A
    worker that does not stop within STOP_SECONDS (an activity retried for ever) is left to the server's
    shutdown, and said in `problems`."""
    folder = Path(tempfile.mkdtemp(prefix="mfg-fuzz-"))
    cluster = PostgresCluster(folder, free_port(), fast_unsafe=True)
    cluster.start()
    try:
        upgrade_to_head(cluster.url())
        engine = make_engine(cluster.url(), pool_size=PARALLEL + 4)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter,
            search_attributes=ALL_KEYS, port=free_port(),
            dev_server_extra_args=["--dynamic-config-value",
                                   "system.forceSearchAttributesCacheRefreshOnRead=true"])
        worker = WorkerControl(env.client, make_sessionmaker(engine), settings.task_queue)
        worker.start()
        try:
            app = create_app(settings, engine, env.client)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 4321))
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60) as http:
                    http.app = app  # type: ignore[attr-defined]  # the schema's source
                    yield http
        finally:
            stopping = asyncio.ensure_future(worker.stop())
            stopped, _ = await asyncio.wait({stopping}, timeout=STOP_SECONDS)
            if not stopped:
                problems.append(f"the worker did not stop within {STOP_SECONDS} s: an activity kept running")
            await env.shutdown()
            engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Credentials:
    """An admin signed in on both contracts' sign-ins; renewed when a generated request ended it (a logout,
    the admin's own account deactivated or demoted by `PUT /users/{id}`)."""

    http: httpx.AsyncClient
    factory: Any
    token: str = ""
    cookie: str = ""
    renewals: int = 0

    async def renew(self) -> None:
        name = f"fuzz-admin-{uuid.uuid4().hex[:8]}"
        with session_scope(self.factory) as session:
            identity.create_user(session, None, {"username": name, "email": f"{name}@example.com",
                                                 "password": PASSWORD, "role": "admin"})
        v1 = await self.http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        stock = await self.http.post("/api/auth/login", json={"email": name, "password": PASSWORD})
        assert v1.status_code == 200 and stock.status_code == 200, (v1.text, stock.text)
        self.token, self.cookie = v1.json()["access_token"], stock.cookies[STOCK_SESSION_COOKIE]
        self.http.cookies.clear()
        self.renewals += 1

    async def still_valid(self) -> bool:
        me = await self.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {self.token}"})
        session = await self.http.get("/api/auth/session", headers={"Cookie": f"{STOCK_SESSION_COOKIE}={self.cookie}"})
        self.http.cookies.clear()
        return (me.status_code == 200 and me.json().get("role") == "admin" and session.status_code == 200
                and session.json() is not None)

    def apply(self, path: str, headers: dict[str, str]) -> None:
        """Bearer on `/api/v1` and elsewhere; the stock session cookie (beside generated cookies) on `/api`."""
        if path.startswith("/api/") and not path.startswith("/api/v1/"):
            generated = headers.pop("Cookie", "")
            headers["Cookie"] = "; ".join(c for c in (f"{STOCK_SESSION_COOKIE}={self.cookie}", generated) if c)
        else:
            headers["Authorization"] = f"Bearer {self.token}"


# --- generation -----------------------------------------------------------------------------------------------

def operations(app: Any) -> list[Any]:
    """Every operation of the app's OpenAPI (one Schemathesis cannot read fails the test)."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    results = list(schema.get_all_operations())
    unreadable = [result.err() for result in results if isinstance(result, Err)]
    assert not unreadable, unreadable
    return [result.ok() for result in results if isinstance(result, Ok)]


def generated(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """`count` cases of `operation` (fewer when Hypothesis finds fewer distinct ones; none when the mode has
    nothing to negate), the same on every run."""
    cases: list[Any] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        return []
    return cases


def all_cases(ops: list[Any]) -> list[tuple[Any, list[Any]]]:
    return [(op, [case for mode, count in EXAMPLES.items() for case in generated(op, mode, count)]) for op in ops]


# --- sending --------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    failures: dict[str, list[str]] = field(default_factory=dict)
    sent: int = 0
    not_reached: list[str] = field(default_factory=list)


def request_of(case: Any, credentials: Credentials) -> dict[str, Any]:
    """The case as httpx arguments (Schemathesis serializes for `requests`), signed in."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
    for name in ("User-Agent", "Accept-Encoding", "Connection", "X-Schemathesis-TestCaseId"):
        headers.pop(name, None)
    cookies = kwargs.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    path = httpx.URL(kwargs["url"]).path
    credentials.apply(path, headers)
    request: dict[str, Any] = {"method": kwargs["method"], "url": kwargs["url"], "headers": headers,
                               "params": kwargs.get("params")}
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()  # NaN and the like as a hostile client sends them
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(kwargs.get("data"), dict):
        request["data"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


def shown(request: dict[str, Any], response: httpx.Response | None, error: BaseException | None) -> str:
    body = request.get("content") or request.get("data") or request.get("files")
    answer = f"{response.status_code} {response.text[:300]}" if response is not None else repr(error)
    return f"{request['method']} {request['url']} params={request.get('params')!r} body={str(body)[:300]!r} -> {answer}"


async def send_all(http: httpx.AsyncClient, credentials: Credentials, work: list[tuple[Any, list[Any]]]) -> Outcome:
    outcome = Outcome()
    gate = asyncio.Semaphore(PARALLEL)

    async def one(label: str, case: Any) -> None:
        request = request_of(case, credentials)
        response: httpx.Response | None = None
        error: BaseException | None = None
        async with gate:
            try:
                response = await asyncio.wait_for(http.request(**request), ANSWER_SECONDS)
            except TimeoutError:
                error = TimeoutError(f"no answer within {ANSWER_SECONDS} s")
            except Exception as exc:  # noqa: BLE001 - an exception out of the app is a server error too
                error = exc
        outcome.sent += 1
        if response is None or response.status_code >= 500:
            outcome.failures.setdefault(label, []).append(shown(request, response, error))

    deadline = asyncio.get_running_loop().time() + BUDGET_SECONDS
    for operation, cases in work:
        if asyncio.get_running_loop().time() > deadline:
            outcome.not_reached.append(operation.label)
            continue
        await asyncio.gather(*(one(operation.label, case) for case in cases))
        http.cookies.clear()  # a sign-in among the cases must not sign the next ones in
        if operation.method.upper() != "GET" and not await credentials.still_valid():
            await credentials.renew()
    return outcome


def report(outcome: Outcome, problems: list[str]) -> str:
    lines = [*problems, f"{len(outcome.failures)} operations answered 5xx ({outcome.sent} requests sent):"]
    if outcome.not_reached:
        lines.append(f"  not reached within {BUDGET_SECONDS} s: {', '.join(outcome.not_reached)}")
    for label, examples in sorted(outcome.failures.items()):
        lines.append(f"  {label}: {len(examples)} x 5xx, e.g.")
        lines.extend(f"    {example}" for example in examples[:SHOWN])
    return "\n".join(lines)


async def test_no_operation_answers_a_server_error_to_generated_input(settings: Settings):
    problems: list[str] = []
    async with own_stack(settings, problems) as http:
        app = http.app  # type: ignore[attr-defined]
        credentials = Credentials(http, app.state.sessionmaker)
        await credentials.renew()
        ops = operations(app)
        work = await asyncio.to_thread(all_cases, ops)  # Hypothesis off the event loop: the worker runs on it
        outcome = await send_all(http, credentials, work)
    assert len(ops) > 150 and outcome.sent > 1000
    assert not (outcome.failures or outcome.not_reached or problems), report(outcome, problems)
