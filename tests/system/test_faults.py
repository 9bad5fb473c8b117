"""Crashes and retries: nothing lost, nothing applied twice."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from activities.procurement import PurchasingActivities
from activities.production import ProductionActivities
from core.settings import get_settings
from dto.identity import Actor
from dto.procurement import PoCommand, PoEffect
from dto.production import SET_DISPOSITION, Effect, Transition
from models.approvals import ApprovalTemplate, ApprovalTemplateStep
from models.procurement import Inventory
from tests.conftest import unique
from tests.procurement.helpers import PO, decide, draft_po, submitted_po
from tests.production.helpers import V1, audit_actions, crew, data, error, fetch, ready_pack, running_batch
from worker import build_worker


@contextmanager
def update_deadline(seconds: float) -> Iterator[None]:
    settings = get_settings()
    before = settings.update_timeout_seconds
    settings.update_timeout_seconds = seconds
    try:
        yield
    finally:
        settings.update_timeout_seconds = before


def count(actions: list[dict], action_type: str) -> int:
    return sum(1 for a in actions if a["action_type"] == action_type)


async def test_transition_in_flight_while_the_worker_is_down_completes_once(api, make_user, service_worker):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    pack = await ready_pack(api, c, batch)
    await service_worker.stop()
    try:
        headers = {**c.qa.headers, "Idempotency-Key": unique("dispose")}
        in_flight = asyncio.create_task(api.patch(f"{V1}/packs/{pack['id']}/disposition",
                                                  json={"disposition": "PASS"}, headers=headers))
        await asyncio.sleep(0.5)  # the request reaches Temporal while no worker polls
        assert not in_flight.done()
    finally:
        service_worker.start()
    finalized = data(await in_flight)
    assert finalized["status"] == "FINALIZED" and finalized["disposition"] == "PASS"
    again = data(await api.patch(f"{V1}/packs/{pack['id']}/disposition", json={"disposition": "PASS"},
                                 headers=headers))
    assert again["version"] == finalized["version"]
    assert count(await audit_actions(api, c, "pack", pack["id"]), "PACK_DISPOSITION_PASS") == 1


async def test_timed_out_transition_retried_with_the_same_key_applies_once(api, make_user, service_worker):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    pack = await ready_pack(api, c, batch)
    headers = {**c.qa.headers, "Idempotency-Key": unique("dispose")}
    await service_worker.stop()
    try:
        with update_deadline(1.0):
            timed_out = await api.patch(f"{V1}/packs/{pack['id']}/disposition", json={"disposition": "FAIL"},
                                        headers=headers)
        error(timed_out, 504, "LIFECYCLE_TIMEOUT")
    finally:
        service_worker.start()
    retried = data(await api.patch(f"{V1}/packs/{pack['id']}/disposition", json={"disposition": "FAIL"},
                                   headers=headers))
    assert retried["status"] == "FINALIZED" and retried["disposition"] == "FAIL"
    assert retried["version"] == pack["version"] + 1
    assert count(await audit_actions(api, c, "pack", pack["id"]), "PACK_DISPOSITION_FAIL") == 1


class CrashAfterCommit(ProductionActivities):
    """The real disposition effect, but the first attempt dies after its transaction committed."""

    attempts = 0

    @activity.defn(name=SET_DISPOSITION.name)
    def set_disposition(self, effect: Effect):  # type: ignore[override]
        CrashAfterCommit.attempts += 1
        view = super().set_disposition(effect)
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost after commit, before reporting")
        return view


async def test_activity_retried_after_it_committed_does_not_apply_twice(api, make_user, service_worker,
                                                                         temporal_client, session_factory):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    pack = await ready_pack(api, c, batch)
    await service_worker.stop()
    worker = build_worker(temporal_client, session_factory, get_settings().task_queue,
                          CrashAfterCommit(session_factory))
    try:
        async with worker:
            done = data(await api.patch(f"{V1}/packs/{pack['id']}/disposition", json={"disposition": "PASS"},
                                        headers=c.qa.headers))
    finally:
        service_worker.start()
    assert CrashAfterCommit.attempts == 2
    assert done["status"] == "FINALIZED" and done["version"] == pack["version"] + 1
    assert count(await audit_actions(api, c, "pack", pack["id"]), "PACK_DISPOSITION_PASS") == 1
    assert (await fetch(api, c, f"packs/{pack['id']}"))["version"] == pack["version"] + 1


async def test_the_same_effect_twice_changes_the_record_once(api, make_user, session_factory):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    pack = await ready_pack(api, c, batch)
    effect = Effect(entity_id=pack["id"], op_key=unique("op"),
                    transition=Transition(action="disposition", actor=Actor(id=c.qa.id, role="QA"),
                                          payload={"disposition": "QUARANTINE"}))
    activities = ProductionActivities(session_factory)
    first = ActivityEnvironment().run(activities.set_disposition, effect)
    second = ActivityEnvironment().run(activities.set_disposition, effect)
    assert first.version == second.version == pack["version"] + 1
    assert count(await audit_actions(api, c, "pack", pack["id"]), "PACK_DISPOSITION_QUARANTINE") == 1


async def test_worker_stopped_between_approval_and_order_po_completes_with_one_receipt_per_line(
        api, make_user, service_worker, session_factory):
    buyer, head, store = await make_user("purchase"), await make_user("head_of_operations"), await make_user("store")
    po = await submitted_po(api, buyer, session_factory, "6000")
    assert (await decide(api, head, po["id"])).json()["status"] == "approved"
    await service_worker.stop()
    try:
        headers = {**buyer.headers, "Idempotency-Key": unique("order")}
        in_flight = asyncio.create_task(api.post(f"{PO}/{po['id']}/order", params={"tracking_number": "TRK9"},
                                                 headers=headers))
        await asyncio.sleep(0.5)  # the order reaches Temporal while no worker polls
        assert not in_flight.done()
    finally:
        service_worker.start()
    ordered = await in_flight
    assert ordered.status_code == 200 and ordered.json()["status"] == "ordered", ordered.text
    line = po["line_items"][0]
    grn = (await api.post(f"{PO}/{po['id']}/receive", headers=store.headers, json={
        "line_items": [{"po_line_item_id": line["id"], "quantity_received": 1}]})).json()
    await service_worker.stop()
    service_worker.start()
    assert (await api.post(f"{PO}/grn/{grn['id']}/accept", headers=store.headers)).status_code == 200
    for _ in range(100):
        if (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "received":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the PO never became received")
    history = (await api.get(f"{PO}/{po['id']}/history", headers=buyer.headers)).json()
    assert [h["action"] for h in history].count("ordered") == 1
    with session_factory() as session:
        stock = session.scalar(select(func.count(Inventory.id)).where(
            Inventory.source_key.like(f"grn-line:{grn['line_items'][0]['id']}")))
    assert stock == 1


async def test_a_retried_submit_keeps_the_plan_its_first_attempt_made(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "30000")
    effect = PoEffect(po_id=po["id"], op_key=unique("submit"),
                      command=PoCommand(action="submit", actor=Actor(id=buyer.id, role="purchase")))
    activities = PurchasingActivities(session_factory)
    first = ActivityEnvironment().run(activities.submit_po, effect)
    with session_factory() as session:  # the policy changes before the retry
        template = ApprovalTemplate(name=unique("one step"), entity_type="purchase_order", is_active=True)
        session.add(template)
        session.flush()
        session.add(ApprovalTemplateStep(template_id=template.id, step_number=1, name="Director only",
                                         approver_role="director"))
        session.commit()
        template_id = template.id
    try:
        retried = ActivityEnvironment().run(activities.submit_po, effect)
    finally:
        with session_factory() as session:
            session.get(ApprovalTemplate, template_id).is_active = False
            session.commit()
    assert first.approval is not None and retried.approval is not None
    assert [s.approver_role for s in retried.approval.steps] == [s.approver_role for s in first.approval.steps] \
        == ["head_of_operations", "director"]
