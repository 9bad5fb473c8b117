"""Replay of the shift handover lifecycle: recorded histories `tests/replay/histories/shift_handover-*.json`
(RECORD_HISTORIES=<tag> records a set) and the histories of this run must replay without nondeterminism."""

import pytest
from temporalio.client import Client

from core.settings import get_settings
from tests.conftest import eventually
from tests.mes.equipment_helpers import make_plant, make_shift
from tests.mes.helpers import V1, ok
from tests.replay.test_replay import replays
from workflows.mes.shift_handover import shift_handover_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")
EVERY_DAY = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


async def run_handovers(api, make_user, monkeypatch) -> list[str]:
    """Two handovers: one acknowledged in time, one left until its reminder (a 1-second timer)."""
    supervisor, operator = await make_user("supervisor"), await make_user("operator")
    shift = await make_shift(api, supervisor, await make_plant(api, supervisor), "Day Shift", "06:00", "14:00",
                             EVERY_DAY)
    read = ok(await api.post(f"{V1}/shift-handovers", headers=supervisor.headers,
                             json={"shift_id": shift["id"], "date": "2025-11-06", "handover_notes": "All quiet"}), 201)
    ok(await api.post(f"{V1}/shift-handovers/{read['id']}/acknowledge", headers=operator.headers))
    monkeypatch.setattr(get_settings(), "shift_handover_ack_seconds", 1)
    forgotten = ok(await api.post(f"{V1}/shift-handovers", headers=supervisor.headers,
                                  json={"shift_id": shift["id"], "date": "2025-11-07", "handover_notes": "Busy"}), 201)

    async def reminded() -> bool:
        shown = ok(await api.get(f"{V1}/shift-handovers/{forgotten['id']}", headers=supervisor.headers))
        return shown["reminded_at"] is not None

    await eventually(reminded)
    return [shift_handover_workflow_id(read["id"]), shift_handover_workflow_id(forgotten["id"])]


async def test_fresh_handover_histories_replay(api, make_user, temporal_client: Client, monkeypatch):
    for number, workflow_id in enumerate(await run_handovers(api, make_user, monkeypatch), start=1):
        handle = temporal_client.get_workflow_handle(workflow_id)
        await handle.result()
        await replays(await handle.fetch_history(), "shift_handover", str(number))
