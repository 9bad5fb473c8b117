"""Replay of the stock lifecycles (transfer, NCR, period close): recorded histories in
`tests/replay/histories/{transfer,ncr,period_close}-*.json` (RECORD_HISTORIES=<tag> records a set) and the
histories of this run must replay without nondeterminism."""


import pytest
from temporalio.client import Client, WorkflowHistory

from tests.replay.test_replay import HISTORIES, replayer, replays
from tests.stock.helpers import assign, seed_item, seed_location, seed_period, seed_stock
from tests.stock.test_period_close import mark_all_ready
from workflows.stock.ncr import ncr_workflow_id
from workflows.stock.period_close import period_close_workflow_id
from workflows.stock.transfer import transfer_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")
KINDS = ("transfer", "ncr", "period_close")


async def run_stock_lifecycles(api, make_user, session_factory) -> dict[str, str]:
    """A transfer approved, an NCR claimed to CLOSED, a period closed: {kind: workflow id}."""
    kitchen, store, item = seed_location(session_factory), seed_location(session_factory), seed_item(session_factory)
    period = seed_period(session_factory, locations=[kitchen, store])
    seed_stock(session_factory, kitchen, item, "10", "2.50", period.start)
    operator, supervisor = await make_user("OPERATOR"), await make_user("SUPERVISOR")
    admin, second_admin = await make_user("ADMIN"), await make_user("ADMIN")
    assign(session_factory, operator.id, kitchen)
    transfer = (await api.post("/api/transfers", headers=operator.headers, json={
        "from_location_id": kitchen.uid, "to_location_id": store.uid, "request_date": period.day(3),
        "lines": [{"item_id": item.uid, "quantity": 4}]})).json()["transfer"]
    await api.patch(f"/api/transfers/{transfer['id']}/approve", headers=supervisor.headers)
    ncr = (await api.post("/api/ncrs", headers=operator.headers, json={
        "location_id": kitchen.uid, "reason": "damaged", "lines": [{"item_id": item.uid, "quantity": 1,
                                                                    "value": 2.5}]})).json()
    for status in ("SENT", "CREDITED", "CLOSED"):
        await api.patch(f"/api/ncrs/{ncr['id']}", json={"status": status}, headers=supervisor.headers)
    mark_all_ready(session_factory, period)
    close = (await api.post(f"/api/periods/{period.uid}/close", headers=admin.headers)).json()
    await api.patch(f"/api/approvals/{close['approval_id']}/approve", headers=second_admin.headers)
    return {"transfer": transfer_workflow_id(transfer["id"]), "ncr": ncr_workflow_id(ncr["id"]),
            "period_close": period_close_workflow_id(period.uid)}


async def test_recorded_stock_histories_replay():
    files = sorted(f for f in HISTORIES.glob("*.json") if f.name.split("-")[0] in KINDS)
    assert {f.name.split("-")[0] for f in files} == set(KINDS), "recorded stock histories are missing"
    for file in files:
        await replayer().replay_workflow(WorkflowHistory.from_json(file.stem, file.read_text()))


async def test_fresh_stock_histories_replay(api, make_user, session_factory, temporal_client: Client):
    for kind, workflow_id in (await run_stock_lifecycles(api, make_user, session_factory)).items():
        handle = temporal_client.get_workflow_handle(workflow_id)
        await handle.result()
        await replays(await handle.fetch_history(), kind)
