"""`Idempotency-Key` on every write (issue 10 §4, api/middleware/idempotency.py): a retry after the first call applied
answers the first call's result, a key is bound to its user and its request, and a failed first call leaves
the key free for a corrected retry."""

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select, text

from api.app import create_app
from core.db import session_scope
from dto.approvals import ApprovalAction, Decision, DecisionResult
from dto.identity import Actor
from models.procurement import PurchaseOrder
from tests.conftest import MakeUser
from tests.conftest import TestUser as AppUser
from tests.procurement.helpers import (
    PO,
    approval_instance,
    open_tasks,
    po_body,
    submitted_po,
    supplier_and_material,
)
from tests.stock.test_deliveries import delivered, new_site, stock_of
from tests.stock.test_issues import issue_body
from tests.stock.test_transfers import new_scene
from tests.system.test_errors_and_health import client_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


def on_hand(session_factory, site) -> Decimal:
    stock = stock_of(session_factory, site)
    assert stock is not None
    return stock[0]


def keyed(user: AppUser, key: str) -> dict[str, str]:
    return {**user.headers, "Idempotency-Key": key}


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


@pytest.fixture(scope="module")
async def supervisor(make_user: MakeUser) -> AppUser:
    return await make_user("SUPERVISOR")


async def test_a_stock_issue_sent_twice_issues_once(api: httpx.AsyncClient, supervisor: AppUser, session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=4, unit_price=25.0, day=2)
    path, key = f"/api/locations/{site.location.uid}/issues", new_key()
    first = await api.post(path, json=issue_body(site, 2), headers=keyed(supervisor, key))
    again = await api.post(path, json=issue_body(site, 2), headers=keyed(supervisor, key))
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert on_hand(session_factory, site) == Decimal("2")  # before: 4 → 2 → 0


async def test_a_po_approval_retried_after_it_applied_answers_the_approval(api, make_user: MakeUser,
                                                                            session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "6000")
    await open_tasks(session_factory, po["approval_instance_id"], 1)
    key, body = new_key(), {"action": "approved", "comments": "ok"}
    first = await api.post(f"{PO}/{po['id']}/approve", json=body, headers=keyed(head, key))
    again = await api.post(f"{PO}/{po['id']}/approve", json=body, headers=keyed(head, key))
    assert first.status_code == again.status_code == 200, (first.text, again.text)  # before: 409
    assert again.json() == first.json() and first.json()["status"] == "approved"


async def test_a_transfer_approval_retried_answers_the_approval(api, make_user: MakeUser, session_factory):
    scene = await new_scene(make_user, session_factory)
    created = await api.post("/api/transfers", json=scene.body(), headers=keyed(scene.operator, new_key()))
    assert created.status_code == 200, created.text
    path, key = f"/api/transfers/{created.json()['transfer']['id']}/approve", new_key()
    first = await api.patch(path, json={"comments": "ok"}, headers=keyed(scene.supervisor, key))
    again = await api.patch(path, json={"comments": "ok"}, headers=keyed(scene.supervisor, key))
    assert first.status_code == again.status_code == 200, (first.text, again.text)  # before: 400
    assert again.json() == first.json()


async def test_a_key_with_another_body_is_refused_naming_the_key(api, supervisor: AppUser, session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=10, unit_price=25.0, day=2)
    path, key = f"/api/locations/{site.location.uid}/issues", new_key()
    assert (await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))).status_code == 200
    other = await api.post(path, json=issue_body(site, 3), headers=keyed(supervisor, key))
    assert other.status_code == 422, other.text
    assert other.json()["data"]["code"] == "IDEMPOTENCY_KEY_REUSED" and key in other.json()["data"]["message"]
    assert on_hand(session_factory, site) == Decimal("9")


async def test_another_users_key_never_returns_their_record(api, make_user: MakeUser, admin: AppUser,
                                                           session_factory):
    buyer = await make_user("purchase")
    supplier_id, material_id = supplier_and_material(session_factory)
    body, key = po_body(supplier_id, material_id, "100"), new_key()
    mine = await api.post(PO, json=body, headers=keyed(buyer, key))
    theirs = await api.post(PO, json=body, headers=keyed(admin, key))
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert theirs.json()["id"] != mine.json()["id"]  # before: the admin got the buyer's PO
    assert theirs.json()["created_by_id"] == admin.id
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(PurchaseOrder).where(
            PurchaseOrder.supplier_id == supplier_id)) == 2


async def test_a_refused_first_call_leaves_the_key_for_a_corrected_retry(api, supervisor: AppUser,
                                                                        session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=3, unit_price=25.0, day=2)
    path, key = f"/api/locations/{site.location.uid}/issues", new_key()
    short = await api.post(path, json=issue_body(site, 5), headers=keyed(supervisor, key))
    assert short.status_code == 400 and short.json()["data"]["code"] == "INSUFFICIENT_STOCK"
    fixed = await api.post(path, json=issue_body(site, 2), headers=keyed(supervisor, key))
    assert fixed.status_code == 200, fixed.text
    assert on_hand(session_factory, site) == Decimal("1")


async def test_a_retry_waits_for_a_first_call_still_running_and_an_abandoned_one_never_writes_twice(
        api, supervisor: AppUser, session_factory, settings, engine, temporal_client):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=3, unit_price=25.0, day=2)
    path, key = f"/api/locations/{site.location.uid}/issues", new_key()
    first = await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))
    assert first.status_code == 200

    def first_call(state: str) -> None:
        with session_scope(session_factory) as session:
            session.execute(text(f"UPDATE idempotent_requests SET status = NULL, body = NULL, {state} WHERE key = :k"),
                            {"k": key})

    first_call("started_at = now()")  # as if the first call were still at work: a retry waits for its answer
    waiting = asyncio.create_task(api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key)))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    with session_scope(session_factory) as session:
        session.execute(text("UPDATE idempotent_requests SET status = 200, body = :b, content_type = "
                             "'application/json' WHERE key = :k"), {"k": key, "b": first.content})
    answered = await waiting
    assert answered.status_code == 200 and answered.json() == first.json()
    first_call("started_at = now()")
    async with client_for(create_app(settings.model_copy(update={"idempotency_wait_seconds": 0.2}), engine,
                                     temporal_client)) as impatient:
        busy = await impatient.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    assert busy.json()["data"]["code"] == "IDEMPOTENCY_KEY_IN_USE" and key in busy.json()["data"]["message"]
    other = await api.post(path, json=issue_body(site, 2), headers=keyed(supervisor, key))
    assert other.status_code == 422 and other.json()["data"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert on_hand(session_factory, site) == Decimal("2")

    # as if its API process had died after its write committed, before answering: never written again
    first_call("started_at = now() - interval '1 hour'")
    applied = await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))
    assert applied.status_code == 409 and applied.json()["data"]["code"] == "IDEMPOTENCY_KEY_APPLIED"
    assert on_hand(session_factory, site) == Decimal("2")

    # as if it had died before its write committed: the retry runs it
    first_call("started_at = now() - interval '1 hour', applied_at = NULL")
    again = await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert on_hand(session_factory, site) == Decimal("1")
    replayed = await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, key))
    assert replayed.json() == again.json() and replayed.headers["idempotent-replayed"] == "true"


async def test_a_direct_write_marks_its_key_applied_in_its_own_transaction(api, supervisor: AppUser,
                                                                          session_factory):
    site = new_site(session_factory, price=Decimal("25.00"))
    await delivered(api, supervisor, site, quantity=3, unit_price=25.0, day=2)
    path, applied, refused = f"/api/locations/{site.location.uid}/issues", new_key(), new_key()
    assert (await api.post(path, json=issue_body(site, 1), headers=keyed(supervisor, applied))).status_code == 200
    assert (await api.post(path, json=issue_body(site, 9), headers=keyed(supervisor, refused))).status_code == 400
    with session_scope(session_factory) as session:
        rows: dict[str, bool] = dict(session.execute(text("SELECT key, applied_at IS NOT NULL FROM idempotent_requests "
                                         "WHERE key IN (:a, :r)"), {"a": applied, "r": refused}).all())
    assert rows == {applied: True}  # the refused one rolled back, and its key was forgotten


def actor(session_factory, user: AppUser) -> Actor:
    """The user as the API hands them to a lifecycle (api/deps.py actor_of)."""
    with session_scope(session_factory) as session:
        row = session.execute(text("SELECT role, is_superuser, approval_limit FROM users WHERE id = :id"),
                              {"id": user.id}).one()
    return Actor(id=user.id, role=row.role, is_superuser=row.is_superuser, approval_limit=row.approval_limit)


async def first_answer_lost(temporal_client, user: AppUser, key: str, instance_id: int, engine_workflow_id: str,
                            decision: Decision) -> None:
    """A first call with `key` whose decision applied but whose answer never reached the client (it timed out,
    the API restarted): the decision update, sent as the API sends it, and nothing kept by the API."""
    await temporal_client.get_workflow_handle(engine_workflow_id).execute_update(
        "decide", decision, id=f"decide-{instance_id}:{user.id}:{key}", result_type=DecisionResult)


async def test_a_po_approval_retried_after_its_answer_was_lost_answers_the_approval(api, make_user: MakeUser,
                                                                                   session_factory,
                                                                                   temporal_client):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "6000")
    (task,) = await open_tasks(session_factory, po["approval_instance_id"], 1)
    key = new_key()
    decision = Decision(action=ApprovalAction.APPROVED, comments="ok", step_number=task["step_number"],
                        actor=actor(session_factory, head))
    instance = approval_instance(session_factory, po["approval_instance_id"])
    await first_answer_lost(temporal_client, head, key, po["approval_instance_id"], instance["workflow_id"], decision)
    retried = await api.post(f"{PO}/{po['id']}/approve", json={"action": "approved", "comments": "ok"},
                             headers=keyed(head, key))
    assert retried.status_code == 200, retried.text  # before: 409, the PO no longer pending approval
    assert retried.json()["status"] == "approved" and retried.json()["approved_by_id"] == head.id
    other = await api.post(f"{PO}/{po['id']}/approve", json={"action": "approved", "comments": "ok"},
                           headers=keyed(head, new_key()))
    assert other.status_code == 409  # a new request is still refused: the PO is no longer pending


async def test_a_transfer_approval_retried_after_its_answer_was_lost_answers_the_approval(
        api, make_user: MakeUser, session_factory, temporal_client):
    scene = await new_scene(make_user, session_factory)
    created = await api.post("/api/transfers", json=scene.body(), headers=scene.operator.headers)
    transfer_uid = created.json()["transfer"]["id"]
    with session_scope(session_factory) as session:
        instance_id, workflow_id = session.execute(text(
            "SELECT i.id, i.workflow_id FROM transfers t JOIN approval_instances i ON i.id = t.approval_id "
            "WHERE t.uid = :uid"), {"uid": transfer_uid}).one()
    key, supervisor = new_key(), scene.supervisor
    decision = Decision(action=ApprovalAction.APPROVED, comments="ok", actor=actor(session_factory, supervisor))
    await first_answer_lost(temporal_client, supervisor, key, instance_id, workflow_id, decision)
    retried = await api.patch(f"/api/transfers/{transfer_uid}/approve", json={"comments": "ok"},
                              headers=keyed(supervisor, key))
    assert retried.status_code == 200, retried.text  # before: 400, the transfer no longer pending approval
    assert retried.json()["status"] == "COMPLETED"
