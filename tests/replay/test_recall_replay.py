"""Replay of the recall lifecycle: recorded histories `tests/replay/histories/recall-*.json` (RECORD_HISTORIES=<tag>
records a set) and the histories of this run must replay without nondeterminism."""

import pytest
from temporalio.client import Client

from tests.mes.helpers import V1, ok
from tests.mes.trace_helpers import three_levels
from tests.quality.helpers import use_own_store
from tests.replay.test_replay import replays
from workflows.mes.recall import recall_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_fresh_recall_histories_replay(api, make_user, admin, temporal_client: Client, settings, monkeypatch,
                                             tmp_path):
    """A lot recalled that reached two customers, one with an e-mail (its notice sent), one without (failed)."""
    use_own_store(settings, monkeypatch, tmp_path)
    genealogy = await three_levels(api, make_user, admin)
    raised = ok(await api.post(f"{V1}/recall-reports", headers=admin.headers, json={
        "recall_reason": "Potential leak", "lot_number": genealogy.copper_lot, "severity": "critical"}), 201)
    handle = temporal_client.get_workflow_handle(recall_workflow_id(raised["id"]))
    assert await handle.result() == "notified"
    await replays(await handle.fetch_history(), "recall", "1")
