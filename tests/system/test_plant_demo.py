"""The maintenance and recall parts of `make demo` (scripts/demo/maintenance.py, recall.py): what they say they
did is what the API shows. `assert_maintenance_state` and `assert_recall_state` are also what
tests/system/test_demo.py checks after each whole demo run."""

import io
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from scripts.demo.kit import Operator, Story
from scripts.demo.maintenance import CHECKLIST, MaintenanceResult, run_maintenance
from scripts.demo.recall import RecallResult, run_recall
from tests.conftest import TestUser, unique
from tests.system.test_stock_demo import workflow_becomes

V1 = "/api/v1"


async def get(api: httpx.AsyncClient, user: Any, path: str) -> Any:
    response = await api.get(f"{V1}{path}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def assert_maintenance_state(api: httpx.AsyncClient, boss: Any, result: MaintenanceResult,
                                   temporal_client: Client | None = None) -> None:
    order = await get(api, boss, f"/pm-work-orders/{result.pm_work_order_id}")
    assert order["status"] == "completed" and [i["completed"] for i in order["checklist"]] == [True] * len(CHECKLIST)
    assert [h["transition_code"] for h in order["history"]] == ["create", "start", "complete"]
    schedule = await get(api, boss, f"/pm-schedules/{result.pm_schedule_id}")
    assert schedule["status"] == "scheduled" and schedule["last_pm_date"] == order["completed_at"][:10]
    machine = await get(api, boss, f"/machines/{result.machine_id}")
    assert machine["status"] == "running"
    if temporal_client is not None:
        await temporal_client.get_schedule_handle(result.schedule_ids[0]).describe()
        for workflow_id in result.completed_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.COMPLETED)


async def assert_recall_state(api: httpx.AsyncClient, boss: Any, result: RecallResult,
                              temporal_client: Client | None = None) -> None:
    report = await get(api, boss, f"/recall-reports/{result.recall_id}")
    assert (report["recall_id"], report["status"], report["affected_lot"]) == (
        result.recall_number, "notified", result.lot_number)
    [customer] = report["affected_customers"]
    assert customer["customer_name"] == "Acme Manufacturing" and customer["notification_status"] == "sent"
    assert sorted(p["serial_number"] for p in customer["products_shipped"]) == sorted(result.pump_serials)
    forward = await get(api, boss, f"/traceability/forward?lot_number={result.lot_number}")
    assert forward["total_affected_customers"] == 1
    backward = await get(api, boss, f"/traceability/backward?serial_number={result.pump_serials[0]}")
    assert result.lot_number in {m.get("lot_number") for m in backward["genealogy"]["materials_used"]}
    if temporal_client is not None:
        for workflow_id in result.completed_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.COMPLETED)


async def test_the_maintenance_and_recall_scenarios_do_what_they_say(api: httpx.AsyncClient, admin: TestUser,
                                                                     temporal_client: Client) -> None:
    out = io.StringIO()
    operator = Operator(api, admin.username, admin.role, admin.token)
    maintenance = await run_maintenance(api, operator, unique("mnt"), Story(out))
    recall = await run_recall(operator, unique("rcl"), Story(out))

    await assert_maintenance_state(api, admin, maintenance, temporal_client)
    await assert_recall_state(api, admin, recall, temporal_client)
    text = out.getvalue()
    assert f"pm-schedule-{maintenance.pm_schedule_id}" in text and recall.recall_number in text
