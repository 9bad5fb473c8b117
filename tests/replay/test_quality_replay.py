"""Replay of the NCR report lifecycle (`NcrReport`): the recorded histories `tests/replay/histories/ncr_report-*.json`
(RECORD_HISTORIES=<tag> records a set) and the history of this run must replay without nondeterminism. The run covers
an escalation, an approval that signals a work order without a lifecycle, an assignment, a reopen and the close."""

import pytest
from temporalio.client import Client, WorkflowHistory

from tests.conftest import eventually
from tests.quality.helpers import detail, move, ncr_type_id, ok, raise_report, seed_work_order
from tests.replay.test_replay import HISTORIES, replayer, replays

pytestmark = pytest.mark.asyncio(loop_scope="session")
KIND = "ncr_report"


async def run_ncr_report(api, make_user, session_factory, admin, settings, monkeypatch) -> str:
    """An NCR report escalated once, then taken to `closed` through every kind of move: its workflow id."""
    monkeypatch.setattr(settings, "erp_ncr_sla_seconds_critical", 1)
    manager, inspector = await make_user("quality_manager"), await make_user("inspector")
    work_order_id, _ = seed_work_order(session_factory)
    report = ok(await raise_report(api, inspector, ncr_type_id(session_factory), severity="critical",
                                   work_order_id=work_order_id), 201)

    async def escalated() -> bool:
        return int((await detail(api, admin, report["id"]))["escalation_level"]) >= 1

    await eventually(escalated, timeout=20)
    ok(await move(api, admin, report["id"], "assign", assignee_id=manager.id))
    for code in ("review", "approve", "start", "resolve", "verify", "reopen", "resolve", "verify", "close"):
        ok(await move(api, admin, report["id"], code, comment=f"{code} in the replay run"))
    return f"ncr-report-{report['id']}"


async def test_recorded_ncr_report_histories_replay():
    files = sorted(HISTORIES.glob(f"{KIND}-*.json"))
    assert files, "no recorded NcrReport history"
    for file in files:
        await replayer().replay_workflow(WorkflowHistory.from_json(file.stem, file.read_text()))


async def test_fresh_ncr_report_history_replays(api, make_user, session_factory, admin, settings, monkeypatch,
                                               temporal_client: Client):
    handle = temporal_client.get_workflow_handle(
        await run_ncr_report(api, make_user, session_factory, admin, settings, monkeypatch))
    assert await handle.result() == "closed"
    await replays(await handle.fetch_history(), KIND)
