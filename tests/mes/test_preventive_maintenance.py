"""Preventive maintenance (manufacturing-erp.md §6.7, issue 13 §3): PM schedules that own Temporal Schedules,
the due date by calendar or meter, the check that raises one PM work order per due date however often it fires,
PM work orders as lifecycles held as data (`pm_work_order`: the technician starts and completes, the checklist
first), escalation past the scheduled date."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError

from core.db import session_scope
from models.mes.equipment import Machine, MachineStatusChange, Plant
from models.mes.maintenance import PmSchedule, PmWorkOrder
from models.notifications import Notification
from tests.conftest import MakeUser, TestUser, eventually, unique
from tests.mes.helpers import V1, ok

pytestmark = pytest.mark.asyncio(loop_scope="session")
TODAY = datetime.now(UTC).date()
CHECKLIST = ["Check oil level in hydraulic reservoir", "Lubricate spindle bearings", "Inspect belts for wear"]


def make_machine(session_factory, name: str = "CNC Lathe Machine") -> int:
    with session_scope(session_factory) as session:
        plant = Plant(code=unique("PL"), name="Fabrication Plant")
        session.add(plant)
        session.flush()
        machine = Machine(machine_code=unique("CNC"), name=name, plant_id=plant.id, capacity_units_per_hour=50)
        session.add(machine)
        session.flush()
        return machine.id


@pytest.fixture
async def crew(make_user: MakeUser) -> dict[str, TestUser]:
    return {"technician": await make_user("maintenance", full_name="Mike Technician"),
            "supervisor": await make_user("supervisor"), "operator": await make_user("operator")}


async def schedule(api, user, machine_id, **fields) -> dict[str, Any]:
    body = {"machine_id": machine_id, "pm_type": "lubrication", "frequency_type": "calendar", "frequency_value": 30,
            "frequency_unit": "days", "lead_time_days": 7, "estimated_duration_hours": 2, "checklist": CHECKLIST,
            **fields}
    return ok(await api.post(f"{V1}/pm-schedules", headers=user.headers, json=body), 201)


async def pm_orders(api, user, schedule_id) -> list[dict[str, Any]]:
    page = ok(await api.get(f"{V1}/pm-work-orders", headers=user.headers, params={"pm_schedule_id": schedule_id}))
    return page["pm_work_orders"]


async def move(api, user, order_id, code, **body):
    return await api.post(f"{V1}/workflows/pm_work_order/{order_id}/transition/{code}", headers=user.headers,
                          json=body)


async def test_the_list_computes_next_due_date_and_status(api, crew, session_factory):
    machine_id = make_machine(session_factory)
    supervisor = crew["supervisor"]
    due = await schedule(api, supervisor, machine_id, last_pm_date=str(TODAY - timedelta(days=28)),
                         assigned_technician_id=crew["technician"].id)
    later = await schedule(api, supervisor, machine_id, pm_type="belts", last_pm_date=str(TODAY - timedelta(days=5)))
    overdue = await schedule(api, supervisor, machine_id, pm_type="filters", frequency_value=2,
                             frequency_unit="weeks", last_pm_date=str(TODAY - timedelta(days=20)))
    assert (due["next_due_date"], due["status"]) == (str(TODAY + timedelta(days=2)), "due")
    assert due["assigned_technician"] == {"id": crew["technician"].id, "name": "Mike Technician"}
    assert (later["next_due_date"], later["status"]) == (str(TODAY + timedelta(days=25)), "scheduled")
    assert (overdue["next_due_date"], overdue["status"]) == (str(TODAY - timedelta(days=6)), "overdue")
    listed = ok(await api.get(f"{V1}/pm-schedules", headers=crew["operator"].headers,
                              params={"machine_id": machine_id}))
    assert [s["id"] for s in listed["pm_schedules"]] == [due["id"], later["id"], overdue["id"]]
    assert listed["pm_schedules"][0]["machine_name"] == "CNC Lathe Machine"
    only = ok(await api.get(f"{V1}/pm-schedules", headers=crew["operator"].headers,
                            params={"machine_id": machine_id, "overdue_only": "true"}))
    assert [s["id"] for s in only["pm_schedules"]] == [overdue["id"]] and only["total"] == 1


async def test_a_meter_schedule_counts_running_hours_from_the_status_history(api, crew, session_factory):
    machine_id = make_machine(session_factory)
    start = datetime.now(UTC) - timedelta(days=3)
    with session_scope(session_factory) as session:
        for hours, status in ((0, "running"), (6, "available"), (24, "running"), (30, "down")):
            session.add(MachineStatusChange(machine_id=machine_id, to_status=status,
                                            changed_at=start + timedelta(hours=hours)))
    meter = await schedule(api, crew["supervisor"], machine_id, frequency_type="meter", frequency_value=10,
                           frequency_unit="hours", lead_time_days=0)
    with session_scope(session_factory) as session:  # the meter counts from the schedule's last PM: set it
        session.get_one(PmSchedule, meter["id"]).last_pm_at = start - timedelta(hours=1)
    shown = ok(await api.get(f"{V1}/pm-schedules/{meter['id']}", headers=crew["supervisor"].headers))
    # 6 h on the first day, then 4 more from hour 24: reached at hour 28
    assert shown["next_due_date"] == str((start + timedelta(hours=28)).date()) and shown["status"] == "overdue"


async def test_a_schedule_owns_a_temporal_schedule_and_raises_one_pm_per_due_date(api, crew, session_factory,
                                                                                  temporal_client: Client):
    machine_id = make_machine(session_factory)
    created = await schedule(api, crew["supervisor"], machine_id, last_pm_date=str(TODAY - timedelta(days=28)),
                             assigned_technician_id=crew["technician"].id)
    described = await temporal_client.get_schedule_handle(f"pm-schedule-{created['id']}").describe()
    assert described.schedule.state.paused is False

    for _ in range(2):  # fired twice for the same due date
        ok(await api.post(f"{V1}/pm-schedules/{created['id']}/trigger", headers=crew["supervisor"].headers), 202)

    async def raised() -> list[dict[str, Any]]:
        return await pm_orders(api, crew["supervisor"], created["id"])

    [order] = await eventually(raised)
    assert order["scheduled_date"] == created["next_due_date"] and order["status"] == "planned"
    assert [item["task"] for item in order["checklist"]] == CHECKLIST
    assert order["work_order_number"].startswith(f"PM-{TODAY.year}-")
    await eventually(lambda: temporal_client.get_workflow_handle(f"pm-work-order-{order['id']}").describe())
    with session_scope(session_factory) as session:
        told = session.scalars(select(Notification.recipient_user_id).where(
            Notification.kind == "pm_work_order_assigned", Notification.reference_id == order["id"])).all()
        assert told == [crew["technician"].id]
        assert len(session.scalars(select(PmWorkOrder.id).where(
            PmWorkOrder.pm_schedule_id == created["id"])).all()) == 1

    paused = ok(await api.patch(f"{V1}/pm-schedules/{created['id']}", headers=crew["supervisor"].headers,
                                json={"is_active": False}))
    assert paused["is_active"] is False
    described = await temporal_client.get_schedule_handle(f"pm-schedule-{created['id']}").describe()
    assert described.schedule.state.paused is True

    deleted = await api.delete(f"{V1}/pm-schedules/{created['id']}", headers=crew["supervisor"].headers)
    assert deleted.status_code == 204
    assert (await api.get(f"{V1}/pm-schedules/{created['id']}", headers=crew["supervisor"].headers)).status_code \
        == 404
    with pytest.raises(RPCError):
        await temporal_client.get_schedule_handle(f"pm-schedule-{created['id']}").describe()
    shown = ok(await api.get(f"{V1}/pm-work-orders/{order['id']}", headers=crew["supervisor"].headers))
    assert shown["pm_schedule_id"] is None  # the work order stays


async def test_the_contract_example_and_the_technicians_lifecycle(api, crew, session_factory):
    machine_id = make_machine(session_factory)
    technician, supervisor = crew["technician"], crew["supervisor"]
    pm = await schedule(api, supervisor, machine_id, last_pm_date=str(TODAY - timedelta(days=30)))
    created = ok(await api.post(f"{V1}/pm-work-orders", headers=supervisor.headers, json={
        "pm_schedule_id": pm["id"], "scheduled_date": str(TODAY), "assigned_technician_id": technician.id,
        "priority": "normal", "notes": "Routine lubrication and inspection"}), 201)
    assert {k: created[k] for k in ("work_order_type", "machine_id", "machine_name", "pm_schedule_id", "pm_type",
                                    "status", "scheduled_date")} == {
        "work_order_type": "preventive_maintenance", "machine_id": machine_id, "machine_name": "CNC Lathe Machine",
        "pm_schedule_id": pm["id"], "pm_type": "lubrication", "status": "planned", "scheduled_date": str(TODAY)}
    assert [(i["task"], i["completed"]) for i in created["checklist"]] == [(t, False) for t in CHECKLIST]
    assert created["assigned_technician"] == {"id": technician.id, "name": "Mike Technician"}
    again = await api.post(f"{V1}/pm-work-orders", headers=supervisor.headers,
                           json={"pm_schedule_id": pm["id"], "scheduled_date": str(TODAY)})
    assert again.status_code == 400 and again.json()["details"][0]["field"] == "scheduled_date"

    other = await move(api, crew["operator"], created["id"], "start")
    assert other.status_code == 403 and other.json()["reason"] == "This task is assigned to Mike Technician, not you"
    started = ok(await move(api, technician, created["id"], "start"))
    assert (started["previous_state"], started["current_state"]) == ("planned", "in_progress")
    refused = await move(api, technician, created["id"], "complete")
    assert refused.status_code == 400 and refused.json()["error"] == "Cannot complete PM work order"
    assert refused.json()["reason"] == "Open checklist items: " + "; ".join(CHECKLIST)
    for item in created["checklist"]:
        ok(await api.patch(f"{V1}/pm-work-orders/{created['id']}/checklist/{item['id']}",
                           headers=technician.headers, json={"completed": True}))
    done = ok(await move(api, technician, created["id"], "complete", comment="all done"))
    assert done["current_state"] == "completed" and done["performed_by"]["name"] == "Mike Technician"

    rescheduled = ok(await api.get(f"{V1}/pm-schedules/{pm['id']}", headers=supervisor.headers))
    assert rescheduled["last_pm_date"] == str(TODAY)
    assert (rescheduled["next_due_date"], rescheduled["status"]) == (str(TODAY + timedelta(days=30)), "scheduled")
    detail = ok(await api.get(f"{V1}/pm-work-orders/{created['id']}", headers=supervisor.headers))
    assert [h["transition_code"] for h in detail["history"]] == ["create", "start", "complete"]
    late = await move(api, technician, created["id"], "cancel")
    assert late.status_code == 400 and "allowed: none" in late.json()["reason"]


async def test_a_pm_work_order_past_its_date_escalates_to_the_supervisors(api, crew, session_factory):
    machine_id = make_machine(session_factory)
    pm = await schedule(api, crew["supervisor"], machine_id, assigned_technician_id=crew["technician"].id)
    created = ok(await api.post(f"{V1}/pm-work-orders", headers=crew["supervisor"].headers, json={
        "pm_schedule_id": pm["id"], "scheduled_date": str(TODAY - timedelta(days=2))}), 201)

    async def level() -> int:
        shown = ok(await api.get(f"{V1}/pm-work-orders/{created['id']}", headers=crew["supervisor"].headers))
        return int(shown["escalation_level"])

    assert await eventually(level) >= 1
    with session_scope(session_factory) as session:
        told = session.scalars(select(Notification.recipient_user_id).where(
            Notification.kind == "pm_work_order_overdue", Notification.reference_id == created["id"])).all()
        assert crew["supervisor"].id in told
    cancelled = ok(await move(api, crew["supervisor"], created["id"], "cancel", comment="machine scrapped"))
    assert cancelled["current_state"] == "cancelled"


async def test_refusals_name_the_field_and_change_nothing(api, crew, session_factory):
    machine_id = make_machine(session_factory)
    supervisor = crew["supervisor"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"frequency_unit": "hours"}, "frequency_unit"), ({"machine_id": 999999}, "machine_id"),
        ({"assigned_technician_id": crew["operator"].id}, "assigned_technician_id"),
        ({"frequency_value": 0}, "frequency_value"), ({"frequency_type": "sometimes"}, "frequency_type")]
    for change, field in cases:
        body = {"machine_id": machine_id, "pm_type": "lubrication", "frequency_type": "calendar",
                "frequency_value": 30, "frequency_unit": "days", **change}
        refused = await api.post(f"{V1}/pm-schedules", headers=supervisor.headers, json=body)
        assert refused.status_code == 400 and refused.json()["details"][0]["field"] == field, refused.text
    assert ok(await api.get(f"{V1}/pm-schedules", headers=supervisor.headers,
                            params={"machine_id": machine_id}))["total"] == 0
    assert (await api.post(f"{V1}/pm-schedules", headers=crew["operator"].headers, json={
        "machine_id": machine_id, "pm_type": "x", "frequency_type": "calendar", "frequency_value": 1,
        "frequency_unit": "days"})).status_code == 403
    missing = await move(api, supervisor, 999999, "start")
    assert missing.status_code == 404
