"""Shift handovers (manufacturing-erp.md §6.6 `POST /api/v1/shift-handovers`; the list, detail and acknowledgement
are additions): the contract's example as written, one per shift and date, every refusal naming its field with nothing
written, the acknowledgement (not by who logged it, once, one winner when two race), and the lifecycle
`shift-handover-{id}`: acknowledged in time it ends without reminding anyone; otherwise the supervisors hear of it
once (SHIFT_HANDOVER_ACK_SECONDS made short here)."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from core.db import session_scope
from core.settings import get_settings
from models.mes.equipment import ShiftHandover
from models.notifications import Notification
from tests.conftest import MakeUser, TestUser, eventually
from tests.mes.equipment_helpers import make_machine, make_plant, make_shift, refused
from tests.mes.helpers import V1, make_product, make_work_order, ok
from workflows.mes.shift_handover import shift_handover_workflow_id

HANDOVERS = f"{V1}/shift-handovers"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
NOTES = ("WO-001 is 75% complete, waiting for aluminum delivery for WO-002. Machine CNC-003 has minor vibration "
         "issue.")


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor", full_name="John Supervisor")


@pytest.fixture
async def shift(api, supervisor) -> dict[str, Any]:
    return await make_shift(api, supervisor, await make_plant(api, supervisor), "Day Shift", "06:00", "14:00",
                            WEEKDAYS)


def handover_body(shift: dict[str, Any], day: str = "2025-11-06", **fields: Any) -> dict[str, Any]:
    return {"shift_id": shift["id"], "date": day, "handover_notes": NOTES, **fields}


def reminders(session_factory, handover_id: int) -> list[tuple[int | None, str]]:
    with session_scope(session_factory) as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Notification.recipient_user_id, Notification.subject)
            .where(Notification.kind == "shift_handover_unacknowledged", Notification.reference_id == handover_id))]


async def test_the_contract_example_is_logged_listed_and_acknowledged_in_time(api, supervisor, shift, make_user,
                                                                             temporal_client: Client,
                                                                             session_factory):
    order = await make_work_order(api, supervisor, await make_product(api, await make_user("engineer")))
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    logged = ok(await api.post(HANDOVERS, headers=supervisor.headers, json=handover_body(
        shift, wip_work_orders=[{"work_order_id": order["id"], "status": "in_progress", "percent_complete": 75}],
        issues=[{"machine_id": machine["id"], "description": "Minor vibration in spindle"}])), 201)
    assert logged == {
        "id": logged["id"], "shift_id": shift["id"], "shift_name": "Day Shift", "date": "2025-11-06",
        "logged_by": {"id": supervisor.id, "name": "John Supervisor"}, "handover_notes": NOTES,
        "wip_work_orders": [{"work_order_id": order["id"], "status": "in_progress", "percent_complete": 75}],
        "issues": [{"machine_id": machine["id"], "description": "Minor vibration in spindle"}],
        "acknowledged_by": None, "acknowledged_at": None, "reminded_at": None, "created_at": logged["created_at"]}

    viewer = await make_user("viewer")
    listed = ok(await api.get(HANDOVERS, params={"shift_id": shift["id"], "date": "2025-11-06"},
                              headers=viewer.headers))
    assert listed == {"shift_handovers": [logged], "total": 1, "page": 1, "per_page": 50}
    assert ok(await api.get(HANDOVERS, params={"shift_id": shift["id"], "date": "2025-11-07"},
                            headers=viewer.headers))["total"] == 0
    assert ok(await api.get(f"{HANDOVERS}/{logged['id']}", headers=viewer.headers)) == logged

    mine = await api.post(f"{HANDOVERS}/{logged['id']}/acknowledge", headers=supervisor.headers)
    assert mine.status_code == 400 and mine.json()["error"] == "Cannot acknowledge handover"
    next_shift = await make_user("operator", full_name="Olga Operator")
    acknowledged = ok(await api.post(f"{HANDOVERS}/{logged['id']}/acknowledge", headers=next_shift.headers))
    assert acknowledged["acknowledged_by"] == {"id": next_shift.id, "name": "Olga Operator"}
    assert acknowledged["acknowledged_at"].endswith("Z")
    again = await api.post(f"{HANDOVERS}/{logged['id']}/acknowledge", headers=(await make_user("operator")).headers)
    assert again.status_code == 400 and again.json()["error"] == "Handover already acknowledged"
    assert again.json()["reason"].startswith("Acknowledged by Olga Operator at ")

    # the lifecycle ends as soon as it hears, well before its hour; nobody is reminded
    handle = temporal_client.get_workflow_handle(shift_handover_workflow_id(logged["id"]))
    assert await asyncio.wait_for(handle.result(), 10) == "acknowledged"
    assert reminders(session_factory, logged["id"]) == []
    shown = ok(await api.get(f"{HANDOVERS}/{logged['id']}", headers=viewer.headers))
    assert shown["reminded_at"] is None and shown == acknowledged


async def test_an_unacknowledged_handover_reminds_the_supervisors_once(api, supervisor, shift, make_user,
                                                                      temporal_client: Client, session_factory,
                                                                      monkeypatch):
    monkeypatch.setattr(get_settings(), "shift_handover_ack_seconds", 1)
    other_supervisor, operator = await make_user("supervisor"), await make_user("operator")
    logged = ok(await api.post(HANDOVERS, headers=operator.headers, json=handover_body(shift)), 201)

    async def reminded_at() -> str | None:
        return ok(await api.get(f"{HANDOVERS}/{logged['id']}", headers=supervisor.headers))["reminded_at"]

    assert (await eventually(reminded_at)).endswith("Z")
    handle = temporal_client.get_workflow_handle(shift_handover_workflow_id(logged["id"]))
    assert await handle.result() == "reminded"
    sent = reminders(session_factory, logged["id"])
    subject = "Handover not acknowledged: Day Shift on 2025-11-06 (Fabrication Plant)"
    assert (supervisor.id, subject) in sent and (other_supervisor.id, subject) in sent
    assert len(sent) == len(set(sent))  # once each
    assert all(recipient != operator.id for recipient, _ in sent)  # supervisors only

    # acknowledged late: still recorded (its lifecycle has ended; nothing more is sent)
    late = ok(await api.post(f"{HANDOVERS}/{logged['id']}/acknowledge", headers=supervisor.headers))
    assert late["acknowledged_by"]["id"] == supervisor.id and late["reminded_at"] is not None
    assert reminders(session_factory, logged["id"]) == sent


async def test_refused_handovers_name_their_field_and_write_nothing(api, supervisor, shift, make_user,
                                                                   session_factory):
    first = ok(await api.post(HANDOVERS, headers=supervisor.headers, json=handover_body(shift)), 201)
    cases = [
        (handover_body(shift), "date", "Day Shift already has a handover on 2025-11-06"),
        (handover_body(shift, "2025-11-08"), "date", "Day Shift does not run on saturdays (2025-11-08)"),
        ({**handover_body(shift), "shift_id": 2_000_000_000}, "shift_id", "Shift 2000000000 not found"),
        (handover_body(shift, "2025-11-07", wip_work_orders=[
            {"work_order_id": 2_000_000_000, "status": "in_progress", "percent_complete": 10}]),
         "wip_work_orders.0.work_order_id", "Work order 2000000000 not found"),
        (handover_body(shift, "2025-11-07", issues=[{"description": "Loose guard"},
                                                    {"machine_id": 2_000_000_000, "description": "Noise"}]),
         "issues.1.machine_id", "Machine 2000000000 not found"),
    ]
    for body, field, message in cases:
        refused(await api.post(HANDOVERS, headers=supervisor.headers, json=body), field, message)
    for body, field in [({**handover_body(shift, "2025-11-07"), "handover_notes": ""}, "handover_notes"),
                        (handover_body(shift, "2025-11-07", wip_work_orders=[
                            {"work_order_id": 1, "status": "in_progress", "percent_complete": 120}]),
                         "wip_work_orders.0.percent_complete")]:
        answer = await api.post(HANDOVERS, headers=supervisor.headers, json=body)
        assert answer.status_code == 400 and answer.json()["details"][0]["field"] == field, answer.text
    denied = await api.post(HANDOVERS, headers=(await make_user("viewer")).headers,
                            json=handover_body(shift, "2025-11-07"))
    assert denied.status_code == 403
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).where(ShiftHandover.shift_id == shift["id"])) == 1
    missing = await api.post(f"{HANDOVERS}/2147483647/acknowledge", headers=supervisor.headers)
    assert missing.status_code == 404
    assert (await api.get(f"{HANDOVERS}/2147483647", headers=supervisor.headers)).status_code == 404
    assert first["acknowledged_at"] is None


async def test_two_acknowledging_at_once_one_wins(api, supervisor, shift, make_user):
    logged = ok(await api.post(HANDOVERS, headers=supervisor.headers, json=handover_body(shift)), 201)
    crew = [await make_user("operator") for _ in range(2)]
    answers = await asyncio.gather(*(api.post(f"{HANDOVERS}/{logged['id']}/acknowledge", headers=user.headers)
                                     for user in crew))
    assert sorted(a.status_code for a in answers) == [200, 400]
    winner = next(a.json() for a in answers if a.status_code == 200)
    shown = ok(await api.get(f"{HANDOVERS}/{logged['id']}", headers=supervisor.headers))
    assert shown["acknowledged_by"] == winner["acknowledged_by"]
