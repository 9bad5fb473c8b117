"""What a lifecycle costs in Temporal, as ops would see it: a purchase order is one workflow from create to
received (its approval and goods receipts inside it), a transfer one workflow with its approval; every
transition is one local activity (one transaction) and answers a small result, never a rendered body. And
the lifecycles started before these types (`PurchaseOrder`, `Transfer`, with their approval and receipt
workflows) still finish through the same API."""

import json
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select, update
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from core.db import session_scope
from core.search_attributes import ENTITY_STATUS, PENDING_ROLE
from core.settings import get_settings
from dto.identity import Actor
from dto.procurement import CreatePo, PoInput
from dto.stock import CreateTransfer, TransferInput, TransferLineInput, TransferView
from models.approvals import ApprovalInstance
from models.procurement import LEGACY_PO_WORKFLOW_TYPE, PurchaseOrder
from services.common import idempotency
from tests.procurement.helpers import PO, decide, draft_po
from tests.stock.test_transfers import Scene, new_scene
from workflows.approvals.approval import approval_workflow_id
from workflows.procurement.goods_receipt import goods_receipt_workflow_id
from workflows.procurement.purchase_order import purchase_order_workflow_id
from workflows.procurement.purchase_order_v1 import PurchaseOrderV1Workflow
from workflows.stock.transfer import transfer_workflow_id
from workflows.stock.transfer_v1 import TransferV1Workflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def scene(make_user, session_factory) -> Scene:
    return await new_scene(make_user, session_factory)
SMALL_RESULT_BYTES = 1500  # an id, a status, a version (a task view for a decision); a PO body is several KB


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
        return True
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


async def events(client: Client, workflow_id: str) -> list[Any]:
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    return list((await handle.fetch_history()).events)


def of_type(history: list[Any], kind: int) -> list[Any]:
    return [e for e in history if e.event_type == kind]


def update_results(history: list[Any]) -> list[bytes]:
    done = of_type(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    return [p.data for e in done
            for p in e.workflow_execution_update_completed_event_attributes.outcome.success.payloads]


async def received_po(api, make_user, session_factory) -> tuple[dict[str, Any], list[int]]:
    """A two-step PO approved, ordered and received in two inspected receipts, through the API."""
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    store, qa = await make_user("store"), await make_user("qa")
    po = await draft_po(api, buyer, session_factory, "30000", requires_inspection=True)
    assert (await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)).status_code == 200
    assert (await decide(api, head, po["id"])).json()["status"] == "pending_approval"
    assert (await decide(api, director, po["id"])).json()["status"] == "approved"
    assert (await api.post(f"{PO}/{po['id']}/order", headers=buyer.headers)).json()["status"] == "ordered"
    line, grn_ids = po["line_items"][0], []
    for part in (0.25, 0.75):
        grn = (await api.post(f"{PO}/{po['id']}/receive", headers=store.headers, json={
            "line_items": [{"po_line_item_id": line["id"], "quantity_received": part}]})).json()
        assert grn["status"] == "pending_inspection"
        inspected = await api.post(f"{PO}/grn/{grn['id']}/inspect", headers=qa.headers,
                                   params={"inspection_passed": True})
        assert inspected.json()["status"] == "inspection_passed", inspected.text
        accepted = await api.post(f"{PO}/grn/{grn['id']}/accept", headers=store.headers)
        assert accepted.json()["status"] == "accepted", accepted.text
        grn_ids.append(grn["id"])
    final = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert final["status"] == "received"  # in the acceptance's own transaction: no waiting
    return final, grn_ids


async def test_a_purchase_order_is_one_workflow_from_create_to_received(api, make_user, session_factory,
                                                                          temporal_client):
    po, grn_ids = await received_po(api, make_user, session_factory)
    history = await events(temporal_client, purchase_order_workflow_id(po["id"]))

    with session_scope(session_factory) as session:
        instance = session.get(ApprovalInstance, po["approval_instance_id"])
        assert instance is not None and instance.status == "approved"
        assert instance.workflow_id == purchase_order_workflow_id(po["id"])  # where ops and the API find it
    assert not await exists(temporal_client, approval_workflow_id(po["approval_instance_id"]))
    for grn_id in grn_ids:
        assert not await exists(temporal_client, goods_receipt_workflow_id(grn_id))
    accepted = of_type(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    effects = of_type(history, EventType.EVENT_TYPE_MARKER_RECORDED)
    assert len(accepted) == 11  # create, submit, 2 decisions, order, 2 x (receive, inspect, accept)
    assert len(effects) == len(accepted)  # one local activity (one transaction) per transition
    assert not of_type(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    # a search-attribute upsert only where ops see a change: pending_approval (for the head), the director's
    # step, approved, ordered, partially_received, received (the start already says draft)
    assert len(of_type(history, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)) == 6
    results = update_results(history)
    assert len(results) == 11 and all(b"line_items" not in r for r in results)
    assert max(len(r) for r in results) < SMALL_RESULT_BYTES


# Statements each purchase-order effect runs (its one transaction), for the chain of `received_po`: what a change
# to an effect adds shows here. Two decisions (a step and the final one), two receipts (each received, inspected and
# accepted); create and submit include the document number, the approval plan, the first task and its notification.
STATEMENTS_PER_CHAIN = {"create_po": 10, "submit_po": 17, "decide_po_approval": 32, "order_po": 5,
                        "receive_po_goods": 22, "inspect_po_goods": 8, "accept_po_goods": 36}


async def test_each_purchase_order_effect_runs_its_known_statements(api, make_user, session_factory, engine):
    counted: Counter[str] = Counter()

    def count(*_: Any) -> None:  # the purchase orders' effects only (an earlier test's timers may fire meanwhile)
        if activity.in_activity() and (activity.info().workflow_id or "").startswith("purchase-order-"):
            counted[activity.info().activity_type] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        await received_po(api, make_user, session_factory)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert dict(counted) == STATEMENTS_PER_CHAIN


async def test_ops_find_a_purchase_order_by_the_role_its_pending_step_waits_for(api, make_user, session_factory,
                                                                                  temporal_client):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await draft_po(api, buyer, session_factory, "30000")
    handle = temporal_client.get_workflow_handle(purchase_order_workflow_id(po["id"]))

    async def shown() -> tuple[str | None, str | None]:
        attributes = (await handle.describe()).typed_search_attributes
        return attributes.get(ENTITY_STATUS), attributes.get(PENDING_ROLE)

    assert await shown() == ("draft", None)
    await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)
    assert await shown() == ("pending_approval", "head_of_operations")
    await decide(api, head, po["id"])
    assert await shown() == ("pending_approval", "director")
    await decide(api, director, po["id"])
    assert await shown() == ("approved", None)


async def test_a_transfer_is_one_workflow_and_its_decision_one_transaction(api, scene, temporal_client,
                                                                            session_factory):
    transfer = (await api.post("/api/transfers", json=scene.body(), headers=scene.operator.headers)).json()["transfer"]
    approved = await api.patch(f"/api/transfers/{transfer['id']}/approve", headers=scene.supervisor.headers)
    assert approved.json()["transfer"]["status"] == "COMPLETED", approved.text

    history = await events(temporal_client, transfer_workflow_id(transfer["id"]))
    assert not of_type(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert len(of_type(history, EventType.EVENT_TYPE_MARKER_RECORDED)) == 2  # request, decision
    assert all(b'"body"' not in r for r in update_results(history))


async def test_withdrawing_a_transfer_request_rejects_the_transfer(api, scene, session_factory):
    transfer = (await api.post("/api/transfers", json=scene.body(), headers=scene.operator.headers)).json()["transfer"]
    with session_scope(session_factory) as session:
        instance_id = session.scalars(select(ApprovalInstance.id).where(
            ApprovalInstance.uid == uuid.UUID(transfer["approval_id"]))).one()
    cancelled = await api.post(f"/api/v1/workflows/instances/{instance_id}/cancel",
                               headers=scene.operator.headers, json={"reason": "not needed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    shown = (await api.get(f"/api/transfers/{transfer['id']}", headers=scene.operator.headers)).json()
    assert shown["status"] == "REJECTED", shown


async def start_first_po_lifecycle(client: Client, session_factory, buyer: Any, body: dict[str, Any]) -> int:
    """A purchase order as the first lifecycle type created it (as if it had been running at the upgrade)."""
    with session_scope(session_factory) as session:
        po_id = idempotency.reserve_id(session, "purchase_orders", "purchase_order", None)
    start = WithStartWorkflowOperation(PurchaseOrderV1Workflow.run, PoInput(po_id=po_id),
                                       id=purchase_order_workflow_id(po_id), task_queue=get_settings().task_queue,
                                       id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    await client.execute_update_with_start_workflow(
        PurchaseOrderV1Workflow.create, CreatePo(po_id=po_id, body=body, actor=Actor(id=buyer.id, role="purchase")),
        start_workflow_operation=start)
    with session_scope(session_factory) as session:
        session.execute(update(PurchaseOrder).where(PurchaseOrder.id == po_id)
                        .values(workflow_type=LEGACY_PO_WORKFLOW_TYPE))
    return po_id


async def test_a_purchase_order_of_the_first_lifecycle_type_still_runs_to_received(api, make_user, session_factory,
                                                                                    temporal_client):
    buyer, head, store = await make_user("purchase"), await make_user("head_of_operations"), await make_user("store")
    template = await draft_po(api, buyer, session_factory, "6000")  # its supplier, material and body shape
    body = {k: template[k] for k in ("supplier_id", "priority", "currency")}
    body["line_items"] = [{k: line[k] for k in ("material_id", "quantity_ordered", "unit_of_measure", "unit_price")}
                          for line in template["line_items"]]
    po_id = await start_first_po_lifecycle(temporal_client, session_factory, buyer, json.loads(json.dumps(body)))

    submitted = (await api.post(f"{PO}/{po_id}/submit", headers=buyer.headers)).json()
    assert submitted["status"] == "pending_approval"
    instance_id = submitted["approval_instance_id"]
    assert (await decide(api, head, po_id)).json()["status"] == "approved"
    assert (await api.post(f"{PO}/{po_id}/order", headers=buyer.headers)).json()["status"] == "ordered"
    line = submitted["line_items"][0]
    grn = (await api.post(f"{PO}/{po_id}/receive", headers=store.headers, json={
        "line_items": [{"po_line_item_id": line["id"], "quantity_received": line["quantity_ordered"]}]})).json()
    assert (await api.post(f"{PO}/grn/{grn['id']}/accept", headers=store.headers)).json()["status"] == "accepted"

    outcome = await temporal_client.get_workflow_handle(purchase_order_workflow_id(po_id)).result()
    assert outcome["status"] == "received"  # the first lifecycle, told by its receipt's own workflow
    assert await exists(temporal_client, approval_workflow_id(instance_id))
    assert await exists(temporal_client, goods_receipt_workflow_id(grn["id"]))


async def test_a_transfer_of_the_first_lifecycle_type_is_still_decided(api, scene: Scene, temporal_client):
    uid = str(uuid.uuid4())
    start = WithStartWorkflowOperation(TransferV1Workflow.run, TransferInput(transfer_uid=uid),
                                       id=transfer_workflow_id(uid), task_queue=get_settings().task_queue,
                                       id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    period_day = scene.period.date(25)
    view = await temporal_client.execute_update_with_start_workflow(
        TransferV1Workflow.create, CreateTransfer(
            actor=Actor(id=scene.operator.id, role="OPERATOR"), transfer_uid=uid,
            from_location_uid=scene.kitchen.uid, to_location_uid=scene.store.uid, request_date=period_day,
            lines=[TransferLineInput(item_uid=scene.item.uid, quantity=Decimal(5))]),
        start_workflow_operation=start, result_type=TransferView)
    assert view.approval is not None

    approved = await api.patch(f"/api/transfers/{uid}/approve", headers=scene.supervisor.headers)
    assert approved.json()["transfer"]["status"] == "COMPLETED", approved.text
    assert await temporal_client.get_workflow_handle(transfer_workflow_id(uid)).result() == "COMPLETED"
    assert await exists(temporal_client, approval_workflow_id(view.approval.instance_id))
