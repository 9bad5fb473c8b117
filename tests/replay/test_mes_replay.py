"""Replay of the ERP work-order lifecycle: recorded histories `tests/replay/histories/work_order-*.json`
(RECORD_HISTORIES=<tag> records a set) and the histories of this run must replay without nondeterminism."""

import pytest
from temporalio.client import Client

from tests.conftest import eventually
from tests.mes.helpers import V1, make_product, make_work_order, ok, transition
from tests.replay.test_replay import replays
from workflows.mes.work_order import work_order_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run_work_orders(api, make_user) -> list[str]:
    """Two work orders, the second waiting on the first: the first released, started, held and resumed, produced
    to its quantity (completing itself and telling the second), closed; the second freed, started, cancelled."""
    supervisor, operator = await make_user("supervisor"), await make_user("operator")
    product = await make_product(api, await make_user("engineer"))
    first = await make_work_order(api, supervisor, product, 20)
    second = await make_work_order(api, supervisor, product, 5, depends_on=[first["id"]])
    for code in ("release", "start", "hold", "resume"):
        ok(await transition(api, supervisor, first, code))
    for quantity in (12, 8):
        ok(await api.post(f"{V1}/production-logs", headers=operator.headers,
                          json={"work_order_id": first["id"], "quantity_completed": quantity, "hours_worked": 1}), 201)

    async def status() -> str:
        return ok(await api.get(f"{V1}/work-orders/{first['id']}", headers=supervisor.headers))["status"]

    await eventually(status, expected="completed")
    ok(await transition(api, supervisor, first, "close"))
    ok(await api.post(f"{V1}/work-orders/{second['id']}/start", headers=supervisor.headers))
    ok(await transition(api, supervisor, second, "cancel"))
    return [work_order_workflow_id(first["id"]), work_order_workflow_id(second["id"])]


async def test_fresh_work_order_histories_replay(api, make_user, temporal_client: Client):
    for number, workflow_id in enumerate(await run_work_orders(api, make_user), start=1):
        handle = temporal_client.get_workflow_handle(workflow_id)
        await handle.result()
        await replays(await handle.fetch_history(), "work_order", str(number))
