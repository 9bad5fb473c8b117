"""ERP plants, machines and downtime reasons (manufacturing-erp.md §6.5; plants, the machine's create and detail and
the reasons are additions): the contract's list and status change as written, what the list computes (the work order
in progress, utilization over the last week, maintenance dates), a page in a fixed number of statements, every
refusal with nothing written, racing status changes leaving one consistent history, machine ids checked where
products and work orders name them."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from core.db import session_scope
from models.mes.equipment import DowntimeEvent, MachineStatusChange
from models.mes.maintenance import PmSchedule, PmWorkOrder
from tests.conftest import MakeUser, TestUser, unique
from tests.mes.equipment_helpers import machine_state, make_machine, make_plant, refused, write_history
from tests.mes.helpers import V1, make_product, make_work_order, ok

MACHINES = f"{V1}/machines"
SEEDED_REASONS = [("mechanical_failure", "Mechanical Failure", False),
                  ("electrical_failure", "Electrical Failure", False),
                  ("material_shortage", "Material Shortage", False), ("setup_changeover", "Setup/Changeover", False),
                  ("operator_unavailable", "Operator Unavailable", False), ("quality_hold", "Quality Hold", False),
                  ("preventive_maintenance", "Preventive Maintenance", True), ("no_demand", "No Demand", True)]


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


@pytest.fixture
async def operator(make_user: MakeUser) -> TestUser:
    return await make_user("operator")


def recent(stamp: str) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=1) and stamp.endswith("Z")


async def test_plants_are_created_listed_and_their_codes_unique(api, supervisor, operator):
    plant = await make_plant(api, supervisor)
    assert plant["name"] == "Fabrication Plant" and plant["is_active"] is True
    page = ok(await api.get(f"{V1}/plants", params={"search": plant["code"]}, headers=operator.headers))
    assert page == {"plants": [plant], "total": 1, "page": 1, "per_page": 50}
    refused(await api.post(f"{V1}/plants", headers=supervisor.headers, json={"code": plant["code"], "name": "Again"}),
            "code", f"Plant code {plant['code']} already exists")
    denied = await api.post(f"{V1}/plants", headers=operator.headers, json={"code": unique("PLT"), "name": "No"})
    assert denied.status_code == 403 and "error" in denied.json()


async def test_the_contract_list_shows_the_work_order_utilization_and_maintenance(api, supervisor, operator,
                                                                                 make_user, session_factory):
    plant = await make_plant(api, supervisor)
    machine = await make_machine(api, supervisor, plant)
    assert machine["status"] == "available" and machine["current_work_order"] is None
    assert machine["utilization_percent"] == 0 and machine["last_maintenance_date"] is None

    # running for the first half of the last 7 days (the plant has no shifts: the whole calendar is available)
    now = datetime.now(UTC)
    write_history(session_factory, machine["id"], [(now - timedelta(days=8), "running", None),
                                                   (now - timedelta(days=3.5), "available", None)])
    product = await make_product(api, await make_user("engineer"))
    order = await make_work_order(api, supervisor, product, machine_id=machine["id"], plant_id=plant["id"])
    ok(await api.post(f"{V1}/work-orders/{order['id']}/start", headers=supervisor.headers))
    with session_scope(session_factory) as session:
        session.add(PmSchedule(machine_id=machine["id"], pm_type="lubrication", frequency_type="calendar",
                               frequency_value=1, frequency_unit="months", last_pm_date=date(2025, 10, 15),
                               checklist=[]))
        session.add(PmSchedule(machine_id=machine["id"], pm_type="belts", frequency_type="calendar",
                               frequency_value=90, frequency_unit="days", last_pm_date=date(2025, 9, 1),
                               checklist=[], is_active=False))  # inactive: not due, but done on its date
        session.add(PmWorkOrder(work_order_number=unique("PM"), machine_id=machine["id"], pm_type="inspection",
                                status="completed", scheduled_date=date(2025, 10, 10),
                                completed_at=datetime(2025, 10, 11, 9, tzinfo=UTC)))
    ok(await api.put(f"{MACHINES}/{machine['id']}/status", headers=operator.headers, json={"status": "running"}))

    page = ok(await api.get(MACHINES, params={"plant_id": plant["id"]}, headers=operator.headers))
    assert page["total"] == 1 and page["page"] == 1 and page["per_page"] == 50
    shown = page["machines"][0]
    assert set(shown) == {"id", "machine_code", "name", "plant_id", "plant_name", "status", "current_work_order",
                          "capacity_units_per_hour", "utilization_percent", "last_maintenance_date",
                          "next_maintenance_due"}
    assert shown["plant_name"] == "Fabrication Plant" and shown["status"] == "running"
    assert shown["current_work_order"] == {"id": order["id"], "work_order_number": order["work_order_number"]}
    assert shown["capacity_units_per_hour"] == 50
    assert abs(shown["utilization_percent"] - 50) <= 0.01  # 84 of the last 168 hours, the clock moved a little
    assert shown["last_maintenance_date"] == "2025-10-15" and shown["next_maintenance_due"] == "2025-11-15"
    assert ok(await api.get(f"{MACHINES}/{machine['id']}", headers=operator.headers)) == shown


async def test_the_list_filters_by_plant_status_and_search(api, supervisor, operator):
    plant, other = await make_plant(api, supervisor), await make_plant(api, supervisor, "Assembly Plant")
    lathe = await make_machine(api, supervisor, plant)
    press = await make_machine(api, supervisor, plant, name="Hydraulic Press")
    elsewhere = await make_machine(api, supervisor, other)
    ok(await api.put(f"{MACHINES}/{press['id']}/status", headers=operator.headers,
                     json={"status": "down", "reason_code": "electrical_failure"}))

    def ids(page: dict[str, Any]) -> list[int]:
        return [m["id"] for m in page["machines"]]

    assert ids(ok(await api.get(MACHINES, params={"plant_id": plant["id"]}, headers=operator.headers))) == [
        lathe["id"], press["id"]]
    assert ids(ok(await api.get(MACHINES, params={"plant_id": plant["id"], "status": "down"},
                                headers=operator.headers))) == [press["id"]]
    assert ids(ok(await api.get(MACHINES, params={"search": "hydraulic", "plant_id": plant["id"]},
                                headers=operator.headers))) == [press["id"]]
    assert ids(ok(await api.get(MACHINES, params={"search": elsewhere["machine_code"]},
                                headers=operator.headers))) == [elsewhere["id"]]
    second = ok(await api.get(MACHINES, params={"plant_id": plant["id"], "per_page": 1, "page": 2},
                              headers=operator.headers))
    assert ids(second) == [press["id"]] and second["total"] == 2
    bad = await api.get(MACHINES, params={"status": "broken"}, headers=operator.headers)
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "query.status"
    missing = await api.get(f"{MACHINES}/2147483647", headers=operator.headers)
    assert missing.status_code == 404 and missing.json()["error"] == "Machine 2147483647 not found"


async def test_a_page_is_read_in_the_same_statements_whatever_it_holds(api, supervisor, operator, engine: Engine):
    small, large = await make_plant(api, supervisor), await make_plant(api, supervisor)
    await make_machine(api, supervisor, small)
    for _ in range(4):
        machine = await make_machine(api, supervisor, large)
        ok(await api.put(f"{MACHINES}/{machine['id']}/status", headers=operator.headers, json={"status": "running"}))
    ok(await api.get(MACHINES, headers=operator.headers))  # the caller's principal is cached from here on

    async def statements(plant_id: int) -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = ok(await api.get(MACHINES, params={"plant_id": plant_id}, headers=operator.headers))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page["total"] == len(page["machines"]) > 0
        return len(seen)

    # the count, the page, work orders in progress, reasons, shifts, history, logged events, PM work orders, schedules
    assert await statements(small["id"]) == await statements(large["id"]) == 9


async def test_machines_are_created_with_unique_codes_in_a_known_plant(api, supervisor, operator, make_user):
    plant = await make_plant(api, supervisor)
    machine = await make_machine(api, supervisor, plant, capacity=12.5)
    assert machine["capacity_units_per_hour"] == 12.5 and machine["plant_id"] == plant["id"]
    body = {"machine_code": machine["machine_code"], "name": "Copy", "plant_id": plant["id"],
            "capacity_units_per_hour": 10}
    refused(await api.post(MACHINES, headers=supervisor.headers, json=body), "machine_code",
            f"Machine code {machine['machine_code']} already exists")
    refused(await api.post(MACHINES, headers=supervisor.headers,
                           json={**body, "machine_code": unique("CNC"), "plant_id": 2_000_000_000}),
            "plant_id", "Plant 2000000000 not found")
    zero = await api.post(MACHINES, headers=supervisor.headers,
                          json={**body, "machine_code": unique("CNC"), "capacity_units_per_hour": 0})
    assert zero.status_code == 400 and zero.json()["details"][0]["field"] == "capacity_units_per_hour"
    denied = await api.post(MACHINES, headers=operator.headers, json={**body, "machine_code": unique("CNC")})
    assert denied.status_code == 403
    page = ok(await api.get(MACHINES, params={"plant_id": plant["id"]}, headers=operator.headers))
    assert page["total"] == 1  # nothing refused was written
    head = await make_user("head_of_operations")
    await make_machine(api, head, plant)


async def test_the_contract_status_change_opens_and_closes_downtime(api, supervisor, operator, make_user,
                                                                   session_factory):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    url = f"{MACHINES}/{machine['id']}/status"
    down = ok(await api.put(url, headers=operator.headers, json={
        "status": "down", "reason_code": "mechanical_failure", "notes": "Hydraulic pump failed, maintenance called"}))
    assert set(down) == {"id", "machine_code", "status", "downtime_started_at", "downtime_reason"}
    assert (down["id"], down["machine_code"], down["status"]) == (machine["id"], machine["machine_code"], "down")
    assert down["downtime_reason"] == "Mechanical Failure" and recent(down["downtime_started_at"])

    maintenance = ok(await api.put(url, headers=(await make_user("maintenance")).headers,
                                   json={"status": "maintenance"}))
    assert maintenance["downtime_reason"] == "Preventive Maintenance" and recent(maintenance["downtime_started_at"])
    running = ok(await api.put(url, headers=supervisor.headers, json={"status": "running"}))
    assert running == {"id": machine["id"], "machine_code": machine["machine_code"], "status": "running",
                       "downtime_started_at": None, "downtime_reason": None}

    with session_scope(session_factory) as session:
        history = session.execute(select(MachineStatusChange.from_status, MachineStatusChange.to_status,
                                         MachineStatusChange.reason_code, MachineStatusChange.notes)
                                  .where(MachineStatusChange.machine_id == machine["id"])
                                  .order_by(MachineStatusChange.changed_at, MachineStatusChange.id)).all()
        assert [tuple(row) for row in history] == [
            (None, "available", None, "created"),
            ("available", "down", "mechanical_failure", "Hydraulic pump failed, maintenance called"),
            ("down", "maintenance", "preventive_maintenance", None), ("maintenance", "running", None, None)]
        events = session.execute(select(DowntimeEvent.source, DowntimeEvent.started_at, DowntimeEvent.ended_at)
                                 .where(DowntimeEvent.machine_id == machine["id"])
                                 .order_by(DowntimeEvent.started_at)).all()
        assert [e.source for e in events] == ["status", "status"]
        assert events[0].ended_at == events[1].started_at and events[1].ended_at is not None


async def test_refused_status_changes_write_nothing(api, supervisor, operator, make_user, session_factory):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    url = f"{MACHINES}/{machine['id']}/status"
    ok(await api.put(url, headers=operator.headers, json={"status": "down", "reason_code": "material_shortage"}))
    before = machine_state(session_factory, machine["id"])

    refused(await api.put(url, headers=operator.headers, json={"status": "down"}),
            "reason_code", "A machine going down needs a reason_code")
    refused(await api.put(url, headers=operator.headers, json={"status": "down", "reason_code": "gremlins"}),
            "reason_code", "Downtime reason gremlins not found")
    refused(await api.put(url, headers=operator.headers, json={"status": "setup", "reason_code": "gremlins"}),
            "reason_code", "Downtime reason gremlins not found")
    same = await api.put(url, headers=operator.headers, json={"status": "down", "reason_code": "material_shortage"})
    assert same.status_code == 400 and same.json()["error"] == "Status unchanged"
    assert same.json()["reason"] == f"Machine {machine['machine_code']} is already down"
    bad = await api.put(url, headers=operator.headers, json={"status": "broken"})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "status"
    denied = await api.put(url, headers=(await make_user("engineer")).headers, json={"status": "running"})
    assert denied.status_code == 403
    missing = await api.put(f"{MACHINES}/2147483647/status", headers=operator.headers, json={"status": "running"})
    assert missing.status_code == 404
    assert machine_state(session_factory, machine["id"]) == before

    # a new reason for the same downtime is a change: the first event closes, the next opens
    ok(await api.put(url, headers=(await make_user("maintenance")).headers,
                     json={"status": "down", "reason_code": "electrical_failure"}))
    status, _, history, events = machine_state(session_factory, machine["id"])
    assert status == "down" and history == before[2] + 1 and len(events) == 2
    assert events[0][1] is not None and events[1][1] is None


async def test_racing_status_changes_leave_one_consistent_history(api, supervisor, make_user, session_factory):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    url = f"{MACHINES}/{machine['id']}/status"
    crew = [await make_user("operator") for _ in range(4)]
    bodies = [{"status": "down", "reason_code": "quality_hold"}, {"status": "maintenance"}, {"status": "running"},
              {"status": "setup"}]
    for _ in range(3):
        answers = await asyncio.gather(*(api.put(url, headers=user.headers, json=body)
                                         for user, body in zip(crew, bodies, strict=True)))
        assert all(a.status_code in (200, 400) for a in answers), [a.text for a in answers]
        assert any(a.status_code == 200 for a in answers)

    with session_scope(session_factory) as session:
        history = session.execute(select(MachineStatusChange.from_status, MachineStatusChange.to_status,
                                         MachineStatusChange.changed_at)
                                  .where(MachineStatusChange.machine_id == machine["id"])
                                  .order_by(MachineStatusChange.changed_at, MachineStatusChange.id)).all()
        events = session.execute(select(DowntimeEvent.started_at, DowntimeEvent.ended_at)
                                 .where(DowntimeEvent.machine_id == machine["id"])
                                 .order_by(DowntimeEvent.started_at, DowntimeEvent.id)).all()
    for previous, row in zip(history, history[1:], strict=False):
        assert row.from_status == previous.to_status and row.changed_at >= previous.changed_at
    final = history[-1].to_status
    assert ok(await api.get(f"{MACHINES}/{machine['id']}", headers=supervisor.headers))["status"] == final
    assert len(events) == sum(1 for row in history if row.to_status in ("down", "maintenance"))
    assert [e.ended_at is None for e in events].count(True) == (1 if final in ("down", "maintenance") else 0)
    for closed, after in zip(events, events[1:], strict=False):
        assert closed.ended_at is not None and closed.ended_at <= after.started_at


async def test_downtime_reasons_are_seeded_and_more_can_be_added(api, supervisor, operator):
    page = ok(await api.get(f"{V1}/downtime-reasons", params={"per_page": 100}, headers=operator.headers))
    seeded = {r["code"]: (r["code"], r["name"], r["is_planned"]) for r in page["downtime_reasons"]}
    assert [seeded[code] for code, _, _ in SEEDED_REASONS] == SEEDED_REASONS
    code = f"tooling_{unique('x').replace('-', '_')}"
    made = ok(await api.post(f"{V1}/downtime-reasons", headers=supervisor.headers,
                             json={"code": code, "name": "Tooling Change", "is_planned": True}), 201)
    assert made == {"id": made["id"], "code": code, "name": "Tooling Change", "is_planned": True, "is_active": True}
    refused(await api.post(f"{V1}/downtime-reasons", headers=supervisor.headers, json={"code": code, "name": "Again"}),
            "code", f"Downtime reason {code} already exists")
    denied = await api.post(f"{V1}/downtime-reasons", headers=operator.headers,
                            json={"code": "other_reason", "name": "Other"})
    assert denied.status_code == 403
    active = ok(await api.get(f"{V1}/downtime-reasons", params={"active_only": True, "per_page": 100},
                              headers=operator.headers))
    assert code in {r["code"] for r in active["downtime_reasons"]}


async def test_products_and_work_orders_name_only_machines_that_exist(api, supervisor, make_user):
    product = await make_product(api, await make_user("engineer"))
    answer = await api.post(f"{V1}/work-orders", headers=supervisor.headers,
                            json={"product_id": product["id"], "quantity_ordered": 5, "machine_id": 2_000_000_000})
    refused(answer, "machine_id", "Machine 2000000000 not found")
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    order = await make_work_order(api, supervisor, product, 5, machine_id=machine["id"])
    assert order["machine_id"] == machine["id"]
