"""`make demo` (scripts/demo/__main__.py) against the in-process API: what it says it did is what the API shows."""

import asyncio
import io
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from scripts.demo.__main__ import DemoResult, run_demo
from scripts.demo.console import DEMO_USERS
from scripts.demo.kit import DemoError
from tests.conftest import MakeUser
from tests.conftest import TestUser as Admin
from tests.system.test_erp_demo import assert_erp_state
from tests.system.test_plant_demo import assert_maintenance_state, assert_recall_state
from tests.system.test_stock_demo import assert_stock_state, assert_story_names_the_workflows

V1 = "/api/v1"


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


async def workflow_status_becomes(client: Client, workflow_id: str, status: WorkflowExecutionStatus) -> None:
    """Workflows close just after the update that finished them returned: allow them a moment."""
    seen = None
    for _ in range(50):
        seen = (await client.get_workflow_handle(workflow_id).describe()).status
        if seen == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} is {seen}, expected {status}")


async def assert_demo_state(api: httpx.AsyncClient, boss: Admin, result: DemoResult) -> None:
    completed = data(await api.get(f"{V1}/batches/{result.completed_batch_id}", headers=boss.headers))
    assert completed["status"] == "COMPLETED"
    assert completed["sku_id"] == result.sku_id
    assert completed["progress"] == {"modules_total": 6, "modules_sealed": 6, "packs_total": 3,
                                     "packs_finalized": 3, "packs_passed": 2, "packs_failed": 1,
                                     "packs_quarantined": 0}
    packs = {p["id"]: p for p in data(await api.get(f"{V1}/packs?batch_id={result.completed_batch_id}",
                                                    headers=boss.headers))}
    assert set(packs) == {result.passed_pack_id, result.failed_pack_id, result.quarantined_then_passed_pack_id}
    assert (packs[result.passed_pack_id]["status"], packs[result.passed_pack_id]["disposition"]) == (
        "FINALIZED", "PASS")
    assert (packs[result.failed_pack_id]["status"], packs[result.failed_pack_id]["disposition"]) == (
        "FINALIZED", "FAIL")
    retested = packs[result.quarantined_then_passed_pack_id]
    assert (retested["status"], retested["disposition"]) == ("FINALIZED", "PASS")

    running = data(await api.get(f"{V1}/batches/{result.running_batch_id}", headers=boss.headers))
    assert running["status"] == "IN_PROGRESS"
    waiting = data(await api.get(f"{V1}/packs?batch_id={result.running_batch_id}", headers=boss.headers))
    assert [(p["id"], p["status"], p["disposition"]) for p in waiting] == [
        (result.waiting_pack_id, "READY_FOR_EOL", None)]

    sku = data(await api.get(f"{V1}/skus/{result.sku_id}", headers=boss.headers))
    assert (sku["sku_code"], sku["status"]) == (result.sku_code, "ACTIVE")


async def assert_quarantine_was_recorded(api: httpx.AsyncClient, boss: Admin, pack_id: int) -> None:
    """The retested pack went through QUARANTINE before its PASS: the audit trail says so."""
    response = await api.get(f"{V1}/audit-trail", params={"entity_type": "pack", "entity_id": str(pack_id)},
                             headers=boss.headers)
    assert response.status_code == 200, response.text
    actions = [entry["action_type"] for entry in reversed(response.json()["items"])]
    assert [a for a in actions if a.startswith("PACK_DISPOSITION")] == [
        "PACK_DISPOSITION_QUARANTINE", "PACK_DISPOSITION_PASS"], actions


async def test_demo_runs_twice_and_leaves_completed_and_running_work(
        api: httpx.AsyncClient, make_user: MakeUser, temporal_client: Client) -> None:
    boss = await make_user("admin")
    out = io.StringIO()
    first = await run_demo(api, boss.password, out, admin_username=boss.username,
                           temporal_ui_url="http://127.0.0.1:8233")

    await assert_demo_state(api, boss, first)
    await assert_quarantine_was_recorded(api, boss, first.quarantined_then_passed_pack_id)
    assert [(u.username, u.role) for u in first.logins[:len(DEMO_USERS)]] == [(u.username, u.role)
                                                                               for u in DEMO_USERS]
    await assert_procurement_state(api, boss, first.procurement)
    await assert_stock_state(api, boss, first.stock, temporal_client)
    await assert_erp_state(api, boss, first.erp, temporal_client)
    await assert_maintenance_state(api, boss, first.maintenance, temporal_client)
    await assert_recall_state(api, boss, first.recall, temporal_client)
    text = out.getvalue()
    assert_story_names_the_workflows(text, first.stock)
    for workflow_id in [*first.completed_workflow_ids, *first.running_workflow_ids]:
        assert workflow_id in text
    assert "http://127.0.0.1:8233/namespaces/default/workflows" in text
    assert f"{V1}/packs?batch_id={first.completed_batch_id}" in text
    for user in DEMO_USERS:
        assert f"{user.username} / {user.password}" in text
    for workflow_id in first.completed_workflow_ids:
        await workflow_status_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.COMPLETED)
    for workflow_id in first.running_workflow_ids:
        await workflow_status_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.RUNNING)

    again = await run_demo(api, boss.password, io.StringIO(), admin_username=boss.username)
    assert not any(login.created for login in again.logins)
    assert again.sku_code != first.sku_code
    assert {again.completed_batch_id, again.running_batch_id}.isdisjoint(
        {first.completed_batch_id, first.running_batch_id})
    await assert_demo_state(api, boss, again)
    await assert_demo_state(api, boss, first)
    assert again.stock.period_id != first.stock.period_id
    assert again.stock.other_locations_marked_ready >= len(first.stock.locations)
    await assert_stock_state(api, boss, again.stock)
    await assert_stock_state(api, boss, first.stock)
    assert again.erp.first_work_order_id != first.erp.first_work_order_id
    await assert_erp_state(api, boss, again.erp)
    await assert_maintenance_state(api, boss, again.maintenance)
    await assert_recall_state(api, boss, again.recall)


async def test_demo_says_so_in_one_line_when_the_system_is_down() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=2) as down:
        try:
            await run_demo(down, "whatever", io.StringIO())
        except DemoError as err:
            assert "make run" in str(err) and "\n" not in str(err)
        else:
            raise AssertionError("the demo ran against no system")


async def assert_procurement_state(api: httpx.AsyncClient, boss: Any, result: Any) -> None:
    """Each approval band ended as the demo says; one receipt failed with an NCR, one went into stock."""
    headers = {"Authorization": f"Bearer {boss.token}"}

    async def po(po_id: int) -> dict:
        return (await api.get(f"/api/v1/purchase-orders/{po_id}", headers=headers)).json()

    assert (await po(result.auto_approved_po_id))["status"] == "approved"
    assert (await po(result.one_step_po_id))["approved_by_id"] is not None
    assert (await po(result.two_step_po_id))["status"] == "received"
    failed = (await api.get(f"/api/v1/purchase-orders/grn/{result.failed_grn_id}", headers=headers)).json()
    assert failed["status"] == "inspection_failed" and failed["ncr_number"]
    passed = (await api.get(f"/api/v1/purchase-orders/grn/{result.passed_grn_id}", headers=headers)).json()
    assert passed["status"] == "accepted" and passed["line_items"][0]["inventory_id"]
    instance = (await api.get(f"/api/v1/workflows/instances/{result.escalated_instance_id}", headers=headers)).json()
    assert instance["approvals"][0]["is_escalated"] is True
