"""Issue 10 §1: bad input never reaches the database or a workflow.

At the edge, ids, pages and numbers beyond PostgreSQL's `integer`, and strings with NUL or an unpaired
surrogate, are request-validation errors in each contract's own shape. Behind it, data the database refuses
inside an activity fails the activity once, without retry (activities/failures.py), so its lifecycle ends
at once and the API answers 4xx instead of 504."""

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import or_, select, text
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.failures import DataFailureInterceptor, data_failure
from core.db import session_scope
from models.catalog import Material, Supplier
from models.operations import IdempotencyKey
from tests.conftest import PASSWORD, TestUser, unique
from tests.procurement.helpers import PO, po_body

INT4_OVERFLOW = 2**31
NUL = "a\x00b"


def aerospace_refusal(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    return list(body["detail"])


def console_refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "VALIDATION_ERROR"
    return dict(body["error"])


def stock_refusal(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["statusCode"] == 400 and body["data"]["code"] == "VALIDATION_ERROR"
    return list(body["data"]["details"])


JSON = {"Content-Type": "application/json"}


def raw_json(value: Any) -> bytes:
    """A JSON body with `\\uXXXX` escapes, so it can carry an unpaired surrogate (httpx's `json=` could not)."""
    return json.dumps(value).encode()


# --- the edge: paths, queries, headers ------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"{PO}/{INT4_OVERFLOW}", f"{PO}/{INT4_OVERFLOW}/history",
                                  "/api/v1/materials/2147483648", f"/api/v1/users/{INT4_OVERFLOW}",
                                  f"/api/v1/workflows/instances/{INT4_OVERFLOW}"])
async def test_an_id_beyond_integer_in_a_path_is_a_validation_error(api, admin: TestUser, path: str):
    [error] = aerospace_refusal(await api.get(path, headers=admin.headers))
    assert error["loc"][0] == "path" and error["type"] == "less_than_equal"


async def test_console_ids_beyond_integer_either_way_are_refused_in_the_console_shape(api, admin: TestUser):
    for path in ("/api/v1/packs/-28990524328", f"/api/v1/batches/{INT4_OVERFLOW}", "/api/v1/modules/0"):
        console_refusal(await api.get(path, headers=admin.headers))
    console_refusal(await api.get("/api/v1/packs", params={"batchId": str(INT4_OVERFLOW), "batch_id": "1e3"},
                                  headers=admin.headers))


@pytest.mark.parametrize("query", [{"page": "99999999999999999999"}, {"supplier_id": str(INT4_OVERFLOW)},
                                   {"search": NUL}])
async def test_pages_ids_and_text_in_a_query_are_checked(api, admin: TestUser, query: dict[str, str]):
    [error] = aerospace_refusal(await api.get(PO, params=query, headers=admin.headers))
    assert error["loc"] == ["query", next(iter(query))]


async def test_nul_in_a_search_is_refused_on_every_contract(api, admin: TestUser):
    [error] = aerospace_refusal(await api.get("/api/v1/materials", params={"search": NUL}, headers=admin.headers))
    assert "NUL" in error["msg"]
    [detail] = stock_refusal(await api.get("/api/items", params={"search": NUL}, headers=admin.headers))
    assert detail["path"] == ["search"] and "NUL" in detail["message"]
    stock_refusal(await api.get("/api/items", params={"page": "99999999999999999999"}, headers=admin.headers))
    stock_refusal(await api.get("/api/items/a%00b", headers=admin.headers))


async def test_an_if_match_beyond_integer_is_refused(api, admin: TestUser):
    for if_match in (str(INT4_OVERFLOW).encode(), "²".encode("latin-1"), b"9" * 5000):  # "²".isdigit()
        response = await api.patch("/api/v1/skus/1/activate", headers={**admin.headers, "If-Match": if_match})
        console_refusal(response)


# --- sign-in ----------------------------------------------------------------------------------------------

LOGIN_NAMES = {"long": "u" * 100_000, "nul": "admin\x00", "surrogate": "adm\ud800in"}


@pytest.mark.parametrize("kind", sorted(LOGIN_NAMES))
async def test_a_login_name_too_long_or_unstorable_is_a_validation_error(api, kind: str):
    name = LOGIN_NAMES[kind]
    [error] = aerospace_refusal(await api.post("/api/v1/auth/login", headers=JSON,
                                               content=raw_json({"username": name, "password": PASSWORD})))
    assert error["loc"] == ["body", "username"]
    if kind != "surrogate":  # a form is bytes: what is not UTF-8 in it decodes to U+FFFD, never a surrogate
        aerospace_refusal(await api.post("/api/v1/auth/login", data={"username": name, "password": PASSWORD}))
    [detail] = stock_refusal(await api.post("/api/auth/login", headers=JSON,
                                            content=raw_json({"email": name, "password": PASSWORD})))
    assert detail["path"] == ["email"]


async def test_a_password_with_an_unpaired_surrogate_is_a_validation_error(api, admin: TestUser):
    aerospace_refusal(await api.post("/api/v1/auth/login", headers=JSON,
                                     content=raw_json({"username": admin.username, "password": "pass\udc80word"})))
    stock_refusal(await api.post("/api/auth/login", headers=JSON,
                                 content=raw_json({"email": admin.username, "password": "\udc80"})))


async def test_the_sign_in_still_works(api, admin: TestUser):
    response = await api.post("/api/v1/auth/login", json={"username": admin.username, "password": PASSWORD})
    assert response.status_code == 200, response.text


async def test_the_inbox_refuses_what_it_cannot_store_and_ignores_ids_beyond_integer(api, admin: TestUser):
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver", timeout=30) as page:
        form = await page.get("/inbox")
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        assert csrf is not None
        for login, password in (("adm\x00in", PASSWORD), ("u" * 100_000, PASSWORD), (admin.username, "p" * 201)):
            refused = await page.post("/inbox/login", data={"login": login, "password": password,
                                                             "csrf_token": csrf.group(1)})
            assert refused.status_code == 422, refused.text[:200]
        signed_in = await page.post("/inbox/login", data={"login": admin.username, "password": PASSWORD,
                                                          "csrf_token": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text[:200]
        inbox = await page.get("/inbox", params={"decided": str(INT4_OVERFLOW), "step": "1"})
        assert inbox.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]*)"', inbox.text)
        assert token is not None
        decided = await page.post("/inbox/decide", data={"csrf_token": token.group(1), "action": "rejected",
                                                         "instance_id": str(INT4_OVERFLOW), "step_number": "1",
                                                         "comments": "no\x00"})
        assert decided.status_code == 422 and "NUL" in decided.text


# --- bodies that would start a lifecycle --------------------------------------------------------------------

def supplier_and_material(session_factory: Any) -> tuple[int, int]:
    """A supplier and a material of their own (names no other test's list filters match)."""
    with session_scope(session_factory) as session:
        supplier = Supplier(code=unique("BADIN"), name="Bad Input Test Supplier", status="active")
        material = Material(code=unique("BADIN"), name="Bad Input Test Material", material_type="other",
                            unit_of_measure="kg")
        session.add_all([supplier, material])
        session.flush()
        return supplier.id, material.id


def reserved_po(session_factory: Any, key: str) -> int | None:
    """The PO id a create with this `Idempotency-Key` reserved (stored as the caller's own key)."""
    with session_scope(session_factory) as session:
        found = session.scalar(select(IdempotencyKey.entity_id).where(
            IdempotencyKey.scope == "purchase_order",
            or_(IdempotencyKey.key == key, IdempotencyKey.key.endswith(f":{key}"))))
        return None if found is None else int(found)


async def po_create(api: httpx.AsyncClient, user: TestUser, body: dict[str, Any],
                    key: str | None = None) -> tuple[httpx.Response, str, float]:
    """POST the PO with an `Idempotency-Key` (which names the id it reserved): the answer, the key, seconds."""
    key = key or uuid.uuid4().hex
    started = time.monotonic()
    response = await api.post(PO, content=raw_json(body), headers={**user.headers, **JSON, "Idempotency-Key": key})
    return response, key, time.monotonic() - started


@pytest.mark.parametrize("bad", [{"supplier_id": INT4_OVERFLOW}, {"notes": NUL}, {"shipping_method": "\ud800"},
                                 {"line": {"material_id": INT4_OVERFLOW}}, {"line": {"notes": "x\x00"}}])
async def test_a_purchase_order_with_bad_data_is_refused_before_its_lifecycle(api, admin: TestUser,
                                                                              session_factory, bad: dict[str, Any]):
    supplier_id, material_id = supplier_and_material(session_factory)
    body = po_body(supplier_id, material_id, "100.00")
    body["line_items"][0].update(bad.pop("line", {}))
    body.update(bad)
    response, key, took = await po_create(api, admin, body)
    aerospace_refusal(response)
    assert took < 5
    assert reserved_po(session_factory, key) is None  # no id reserved: no workflow was ever started


async def test_data_the_database_refuses_inside_the_create_ends_the_lifecycle_at_once(
        api, admin: TestUser, session_factory, temporal_client: Client):
    """Each number fits its column, but the line total (quantity × price) does not fit Numeric(14, 2): the
    edge cannot know, the create activity's insert is refused. Not retried: 422 at once, lifecycle closed."""
    supplier_id, material_id = supplier_and_material(session_factory)
    body = po_body(supplier_id, material_id, "999999999999.99")
    body["line_items"][0]["quantity_ordered"] = 99_999_999_999
    response, key, took = await po_create(api, admin, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert took < 5, f"answered after {took:.1f}s"
    po_id = reserved_po(session_factory, key)
    assert po_id is not None
    handle = temporal_client.get_workflow_handle(f"purchase-order-{po_id}")
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    # The same request again (same key) is refused the same way, not a hang on a finished lifecycle.
    again, _, took = await po_create(api, admin, body, key)
    assert again.status_code in (409, 422), again.text
    assert took < 5


# --- the interceptor itself ---------------------------------------------------------------------------------

def database_error(session_factory: Any, statement: str, **params: Any) -> BaseException:
    """The exception SQLAlchemy raises for `statement` on a real PostgreSQL."""
    with session_factory() as session:
        session.execute(text("CREATE TEMP TABLE parent (id int PRIMARY KEY)"))
        session.execute(text("CREATE TEMP TABLE child (code text UNIQUE, note text NOT NULL, short varchar(3), "
                             "parent_id int REFERENCES parent (id), qty int CHECK (qty > 0))"))
        session.execute(text("INSERT INTO child (code, note) VALUES ('taken', 'x')"))
        try:
            session.execute(text(statement), params)
        except Exception as exc:  # noqa: BLE001 - what the database raised is the point
            return exc
        finally:
            session.rollback()
    raise AssertionError(f"{statement} did not fail")


@pytest.mark.parametrize(("statement", "params", "error_type"), [
    ("SELECT CAST(:v AS int4)", {"v": INT4_OVERFLOW}, "VALIDATION_ERROR"),
    ("SELECT CAST(:v AS numeric(14, 2))", {"v": Decimal("1e20")}, "VALIDATION_ERROR"),
    ("INSERT INTO child (code, note, short) VALUES ('new', 'y', :v)", {"v": "four"}, "VALIDATION_ERROR"),
    ("SELECT :v", {"v": NUL}, "VALIDATION_ERROR"),
    ("INSERT INTO child (code, note) VALUES ('taken', 'y')", {}, "DUPLICATE_ENTRY"),
    ("INSERT INTO child (code, note, parent_id) VALUES ('new', 'y', 7)", {}, "VALIDATION_ERROR"),
    ("INSERT INTO child (code) VALUES ('new')", {}, "VALIDATION_ERROR"),
    ("INSERT INTO child (code, note, qty) VALUES ('new', 'y', 0)", {}, "VALIDATION_ERROR"),
])
def test_data_errors_are_business_failures_without_retry(session_factory, statement: str, params: dict[str, Any],
                                                         error_type: str):
    failure = data_failure(database_error(session_factory, statement, **params))
    assert failure is not None and failure.type == error_type and failure.non_retryable


def test_other_database_errors_stay_retryable(session_factory):
    assert data_failure(database_error(session_factory, "SELECT * FROM no_such_table")) is None  # 42P01
    assert data_failure(RuntimeError("boom")) is None


ATTEMPTS: dict[str, int] = {}


class Probe:
    def __init__(self, session_factory: Any) -> None:
        self.factory = session_factory

    @activity.defn(name="bad_input_probe_overflow")
    def overflow(self, key: str) -> int:
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        with session_scope(self.factory) as session:
            return int(session.scalar(text("SELECT CAST(:v AS int4)"), {"v": INT4_OVERFLOW}) or 0)


@workflow.defn(name="BadInputProbe")
class ProbeWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        retry = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=20)
        outcomes = []
        for run_it in (self._local, self._remote):
            try:
                await run_it(key, retry)
            except (ActivityError, ApplicationError) as err:  # a local activity's failure comes as it was raised
                cause = err.cause if isinstance(err, ActivityError) else err
                outcomes.append(f"{cause.type}:{cause.non_retryable}" if isinstance(cause, ApplicationError)
                                else repr(cause))
        return ",".join(outcomes)

    async def _local(self, key: str, retry: RetryPolicy) -> None:
        await workflow.execute_local_activity("bad_input_probe_overflow", f"{key}-local", result_type=int,
                                              start_to_close_timeout=timedelta(seconds=10), retry_policy=retry)

    async def _remote(self, key: str, retry: RetryPolicy) -> None:
        await workflow.execute_activity("bad_input_probe_overflow", f"{key}-remote", result_type=int,
                                        start_to_close_timeout=timedelta(seconds=10), retry_policy=retry)


async def test_the_worker_interceptor_fails_local_and_remote_activities_once(temporal_client: Client,
                                                                             session_factory):
    queue = f"bad-input-{uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().hex
    probe = Probe(session_factory)
    async with Worker(temporal_client, task_queue=queue, workflows=[ProbeWorkflow], activities=[probe.overflow],
                      activity_executor=ThreadPoolExecutor(2), interceptors=[DataFailureInterceptor()],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        try:
            outcome = await temporal_client.execute_workflow(ProbeWorkflow.run, key, id=f"probe-{key}",
                                                             task_queue=queue,
                                                             execution_timeout=timedelta(seconds=30))
        except WorkflowFailureError as err:  # pragma: no cover - shows why
            raise AssertionError(repr(err.cause)) from err
    assert outcome == "VALIDATION_ERROR:True,VALIDATION_ERROR:True"
    assert ATTEMPTS == {f"{key}-local": 1, f"{key}-remote": 1}
