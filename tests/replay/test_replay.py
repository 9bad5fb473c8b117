"""Replay: the batch and pack workflows must replay their recorded histories without nondeterminism.

`tests/replay/histories/*.json` were recorded from real runs (RECORD_HISTORIES=<tag> records another set); a change to
workflow code that would break running lifecycles fails here. Fresh histories of this run replay too."""

import json
import os
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.procurement.helpers import PO, decide, draft_po
from tests.production.helpers import V1, crew, data, dispose, ready_pack, running_batch, sealed_module
from worker import WORKFLOWS
from workflows.procurement.purchase_order import purchase_order_workflow_id
from workflows.production.batch import batch_workflow_id
from workflows.production.pack import pack_workflow_id

HISTORIES = Path(__file__).parent / "histories"
KINDS = {"production-batch": "batch", "pack": "pack", "purchase-order": "po", "approval": "approval",
         "goods-receipt": "grn"}


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)


def recorded_type(text: str) -> str:
    first = json.loads(text)["events"][0]
    return str(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


async def test_recorded_histories_replay():
    files = sorted(HISTORIES.glob("*.json"))
    recorded = {recorded_type(f.read_text()) for f in files}
    registered = {str(workflow._Definition.must_from_class(cls).name) for cls in WORKFLOWS}
    assert recorded >= registered, f"no recorded history of {sorted(registered - recorded)}"
    for file in files:
        history = WorkflowHistory.from_json(file.stem, file.read_text())
        await replayer().replay_workflow(history)


async def run_lifecycles(api, make_user) -> list[str]:
    """A batch through completion, with one pack passed and one quarantined then failed."""
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    passed = await ready_pack(api, c, batch)
    await dispose(api, c, passed["id"], "PASS")
    failed = await ready_pack(api, c, batch)
    await dispose(api, c, failed["id"], "QUARANTINE")
    await dispose(api, c, failed["id"], "FAIL")
    await sealed_module(api, c, batch["id"], batch["sku"]["cells_per_module"])
    data(await api.patch(f"{V1}/batches/{batch['id']}/complete", headers=c.supervisor.headers))
    return [batch_workflow_id(batch["id"]), pack_workflow_id(passed["id"]), pack_workflow_id(failed["id"])]


async def run_procurement(api, make_user, session_factory) -> list[str]:
    """A two-step PO approved, ordered, received in two parts, inspected and accepted: one `PurchaseOrderV2`
    lifecycle holding its approval and both goods receipts."""
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    store, qa = await make_user("store"), await make_user("qa")
    po = await draft_po(api, buyer, session_factory, "30000", requires_inspection=True)
    assert (await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)).status_code == 200
    await decide(api, head, po["id"])
    await decide(api, director, po["id"])
    await api.post(f"{PO}/{po['id']}/order", params={"tracking_number": "TRK"}, headers=buyer.headers)
    line = po["line_items"][0]
    for part in (0.4, 0.6):
        grn = (await api.post(f"{PO}/{po['id']}/receive", headers=store.headers, json={
            "line_items": [{"po_line_item_id": line["id"], "quantity_received": part}]})).json()
        await api.post(f"{PO}/grn/{grn['id']}/inspect", headers=qa.headers, params={"inspection_passed": True})
        accepted = await api.post(f"{PO}/grn/{grn['id']}/accept", headers=store.headers)
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    return [purchase_order_workflow_id(po["id"])]


async def test_fresh_histories_replay(api, make_user, temporal_client: Client, session_factory):
    workflow_ids = [*await run_lifecycles(api, make_user), *await run_procurement(api, make_user, session_factory)]
    for workflow_id in workflow_ids:
        handle = temporal_client.get_workflow_handle(workflow_id)
        await handle.result()
        prefix, number = workflow_id.rsplit("-", 1)
        await replays(await handle.fetch_history(), KINDS[prefix], number)


async def replays(history: WorkflowHistory, kind: str, number: str = "1") -> None:
    """The history replays on today's code; with RECORD_HISTORIES=<tag> it is kept as `<kind>-<tag>-<number>`."""
    await replayer().replay_workflow(history)
    tag = os.environ.get("RECORD_HISTORIES")
    path = HISTORIES / f"{kind}-{tag}-{number}.json"
    if tag and not path.exists():  # recorded histories are never rewritten: they stand for old code
        path.write_text(history.to_json())
