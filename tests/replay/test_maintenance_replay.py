"""Replay of preventive maintenance's workflows: a PM schedule's check (`PmScheduleCheck`) and the PM work order's
lifecycle (`PmWorkOrder`); recorded histories `tests/replay/histories/{pm_schedule_check,pm_work_order}-*.json`
(RECORD_HISTORIES=<tag> records a set) and this run's must replay without nondeterminism."""

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.conftest import eventually
from tests.mes.helpers import V1, ok
from tests.mes.test_preventive_maintenance import CHECKLIST, make_machine, move, pm_orders, schedule
from tests.replay.test_replay import replays

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_fresh_maintenance_histories_replay(api, make_user, session_factory, temporal_client: Client):
    technician, supervisor = await make_user("maintenance"), await make_user("supervisor")
    today = datetime.now(UTC).date()
    pm = await schedule(api, supervisor, make_machine(session_factory), assigned_technician_id=technician.id,
                        last_pm_date=str(today - timedelta(days=31)))
    ok(await api.post(f"{V1}/pm-schedules/{pm['id']}/trigger", headers=supervisor.headers), 202)
    [order] = await eventually(lambda: pm_orders(api, supervisor, pm["id"]))
    ok(await move(api, technician, order["id"], "start"))
    for item in order["checklist"]:
        ok(await api.patch(f"{V1}/pm-work-orders/{order['id']}/checklist/{item['id']}", headers=technician.headers,
                           json={"completed": True}))
    ok(await move(api, technician, order["id"], "complete"))
    assert len(order["checklist"]) == len(CHECKLIST)

    lifecycle = temporal_client.get_workflow_handle(f"pm-work-order-{order['id']}")
    await lifecycle.result()
    await replays(await lifecycle.fetch_history(), "pm_work_order")
    query = f"WorkflowType = 'PmScheduleCheck' AND WorkflowId STARTS_WITH 'pm-schedule-check-{pm['id']}-'"

    async def completed_checks() -> list[str]:  # visibility follows a moment behind
        return [w.id async for w in temporal_client.list_workflows(query)
                if w.status == WorkflowExecutionStatus.COMPLETED]

    check = temporal_client.get_workflow_handle((await eventually(completed_checks))[0])
    await replays(await check.fetch_history(), "pm_schedule_check")
