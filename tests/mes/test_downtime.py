"""ERP downtime events (manufacturing-erp.md §6.7 `POST /api/v1/downtime-events`): the contract's example as written,
MTBF and MTTR in the answer computed by hand (the plant has no shifts, so the last 90 days are 2160 available hours),
status downtime counted as failures too, every refusal naming its field with nothing written, two overlapping events
logged at once (one wins)."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import MakeUser, TestUser
from tests.mes.equipment_helpers import machine_state, make_machine, make_plant, refused
from tests.mes.helpers import V1, make_product, make_work_order, ok

EVENTS = f"{V1}/downtime-events"


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


@pytest.fixture
async def operator(make_user: MakeUser) -> TestUser:
    return await make_user("operator")


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(machine: dict[str, Any], reason: str, started: datetime, ended: datetime, **fields: Any) -> dict[str, Any]:
    return {"machine_id": machine["id"], "downtime_reason_code": reason, "started_at": z(started),
            "ended_at": z(ended), **fields}


async def test_the_contract_example(api, supervisor, operator, make_user):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    order = await make_work_order(api, supervisor, await make_product(api, await make_user("engineer")))
    logged = ok(await api.post(EVENTS, headers=operator.headers, json={
        "machine_id": machine["id"], "work_order_id": order["id"], "downtime_reason_code": "mechanical_failure",
        "started_at": "2025-11-06T14:30:00Z", "ended_at": "2025-11-06T17:00:00Z",
        "notes": "Hydraulic pump replaced by maintenance team"}), 201)
    assert logged == {"id": logged["id"], "machine_id": machine["id"], "machine_name": "CNC Lathe Machine",
                      "work_order_id": order["id"], "downtime_reason": "Mechanical Failure",
                      "downtime_reason_code": "mechanical_failure", "duration_minutes": 150,
                      "started_at": "2025-11-06T14:30:00Z", "ended_at": "2025-11-06T17:00:00Z",
                      "notes": "Hydraulic pump replaced by maintenance team",
                      # more than MAINTENANCE_METRICS_DAYS ago: no failure in the window, no MTBF nor MTTR
                      "mtbf_hours": None, "mttr_hours": None}


async def test_mtbf_and_mttr_cover_the_last_90_days_and_only_unplanned_downtime(api, supervisor, operator):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    first = ok(await api.post(EVENTS, headers=operator.headers, json=body(
        machine, "mechanical_failure", day - timedelta(days=10), day - timedelta(days=10) + timedelta(hours=2))), 201)
    # one failure of 2 h: MTTR 2, MTBF (2160 − 2) / 1
    assert (first["mttr_hours"], first["mtbf_hours"], first["duration_minutes"]) == (2, 2158, 120)
    second = ok(await api.post(EVENTS, headers=operator.headers, json=body(
        machine, "electrical_failure", day - timedelta(days=5), day - timedelta(days=5) + timedelta(hours=3))), 201)
    assert (second["mttr_hours"], second["mtbf_hours"]) == (2.5, 1077.5)  # 5 h / 2; (2160 − 5) / 2
    planned = ok(await api.post(EVENTS, headers=operator.headers, json=body(
        machine, "preventive_maintenance", day - timedelta(days=3), day - timedelta(days=3) + timedelta(hours=4))),
        201)
    assert (planned["mttr_hours"], planned["mtbf_hours"]) == (2.5, 1077.5)  # planned: not a failure
    long_ago = ok(await api.post(EVENTS, headers=operator.headers, json=body(
        machine, "mechanical_failure", day - timedelta(days=120), day - timedelta(days=119))), 201)
    assert (long_ago["mttr_hours"], long_ago["mtbf_hours"]) == (2.5, 1077.5)  # outside the 90 days

    # a machine set down through its status (here for a moment) has failed too: 3 failures, about 5 h
    url = f"{V1}/machines/{machine['id']}/status"
    ok(await api.put(url, headers=operator.headers, json={"status": "down", "reason_code": "quality_hold"}))
    ok(await api.put(url, headers=operator.headers, json={"status": "running"}))
    third = ok(await api.post(EVENTS, headers=operator.headers, json=body(
        machine, "no_demand", day - timedelta(days=2), day - timedelta(days=2) + timedelta(hours=1))), 201)
    assert (third["mttr_hours"], third["mtbf_hours"]) == (1.7, 718.3)  # 5 h / 3; (2160 − 5) / 3


async def test_refused_events_name_their_field_and_write_nothing(api, supervisor, operator, make_user,
                                                                session_factory):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    earlier = ok(await api.post(EVENTS, headers=operator.headers,
                                json=body(machine, "material_shortage", start, start + timedelta(hours=2))), 201)
    before = machine_state(session_factory, machine["id"])
    future = datetime.now(UTC) + timedelta(hours=1)
    cases = [
        (body(machine, "mechanical_failure", start + timedelta(hours=5), start + timedelta(hours=4)), "ended_at",
         "ended_at 2026-03-02T12:00:00Z must be after started_at 2026-03-02T13:00:00Z"),
        (body(machine, "mechanical_failure", start + timedelta(hours=5), start + timedelta(hours=5)), "ended_at",
         "ended_at 2026-03-02T13:00:00Z must be after started_at 2026-03-02T13:00:00Z"),
        (body(machine, "mechanical_failure", start + timedelta(hours=1), start + timedelta(hours=3)), "started_at",
         f"Overlaps downtime event {earlier['id']} of machine {machine['machine_code']} "
         "(2026-03-02T08:00:00Z to 2026-03-02T10:00:00Z)"),
        (body(machine, "mechanical_failure", start - timedelta(hours=1), start + timedelta(hours=5)), "started_at",
         f"Overlaps downtime event {earlier['id']} of machine {machine['machine_code']} "
         "(2026-03-02T08:00:00Z to 2026-03-02T10:00:00Z)"),
        (body({"id": 2_000_000_000}, "mechanical_failure", start - timedelta(hours=3), start), "machine_id",
         "Machine 2000000000 not found"),
        (body(machine, "gremlins", start - timedelta(hours=3), start), "downtime_reason_code",
         "Downtime reason gremlins not found"),
        (body(machine, "mechanical_failure", start - timedelta(hours=3), start, work_order_id=2_000_000_000),
         "work_order_id", "Work order 2000000000 not found"),
    ]
    for sent, field, message in cases:
        refused(await api.post(EVENTS, headers=operator.headers, json=sent), field, message)
    in_future = await api.post(EVENTS, headers=operator.headers,
                               json=body(machine, "mechanical_failure", future - timedelta(hours=2), future))
    assert in_future.status_code == 400 and in_future.json()["details"][0]["field"] == "ended_at"
    assert "is in the future" in in_future.json()["details"][0]["message"]
    no_end = {k: v for k, v in body(machine, "mechanical_failure", start - timedelta(hours=3), start).items()
              if k != "ended_at"}
    missing = await api.post(EVENTS, headers=operator.headers, json=no_end)
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "ended_at"
    denied = await api.post(EVENTS, headers=(await make_user("engineer")).headers,
                            json=body(machine, "mechanical_failure", start - timedelta(hours=3), start))
    assert denied.status_code == 403
    assert machine_state(session_factory, machine["id"]) == before

    # touching is not overlapping; an open downtime (the machine is down now) overlaps whatever reaches it
    ok(await api.post(EVENTS, headers=operator.headers,
                      json=body(machine, "mechanical_failure", start + timedelta(hours=2), start + timedelta(hours=3))),
       201)
    down = ok(await api.put(f"{V1}/machines/{machine['id']}/status", headers=operator.headers,
                            json={"status": "down", "reason_code": "mechanical_failure"}))
    opened = datetime.fromisoformat(down["downtime_started_at"].replace("Z", "+00:00"))
    reaching = await api.post(EVENTS, headers=operator.headers, json={
        **body(machine, "quality_hold", opened - timedelta(minutes=5), opened),
        "ended_at": datetime.now(UTC).isoformat()})  # just past the opening, to the microsecond
    assert reaching.status_code == 400 and reaching.json()["details"][0]["field"] == "started_at"
    assert reaching.json()["details"][0]["message"].endswith("still open)")


async def test_two_overlapping_events_logged_at_once_one_wins(api, supervisor, make_user, session_factory):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    start = datetime(2026, 4, 6, 9, tzinfo=UTC)
    crew = [await make_user("operator") for _ in range(2)]
    answers = await asyncio.gather(*(
        api.post(EVENTS, headers=user.headers,
                 json=body(machine, "mechanical_failure", start + timedelta(minutes=30 * i),
                           start + timedelta(hours=2))) for i, user in enumerate(crew)))
    assert sorted(a.status_code for a in answers) == [201, 400]
    assert len(machine_state(session_factory, machine["id"])[3]) == 1
