"""The maintenance part of `make demo`: a plant and two machines, a breakdown logged by status (down, then back
to running) and one logged afterwards, a preventive-maintenance schedule whose Temporal Schedule raises the PM work
order when triggered, the technician working it through to completed, and the maintenance KPIs."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scripts.demo.kit import V1, DemoError, DemoLogin, DemoUser, Operator, Story, enlist_user, log_in

MAINTENANCE_USERS = (
    DemoUser("maintenance", "demo-technician", "demo-technician-pass", "Mike Technician"),
    DemoUser("supervisor", "demo-floor-supervisor", "demo-floor-supervisor-pass", "Sue Supervisor"),
)
CHECKLIST = ["Check oil level in hydraulic reservoir", "Lubricate spindle bearings", "Inspect belts for wear"]


@dataclass
class MaintenanceResult:
    plant_id: int
    machine_id: int
    pm_schedule_id: int
    pm_work_order_id: int
    logins: list[DemoLogin]

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [f"pm-work-order-{self.pm_work_order_id}"]

    @property
    def schedule_ids(self) -> list[str]:
        return [f"pm-schedule-{self.pm_schedule_id}"]


async def enlist(client: httpx.AsyncClient, admin: Operator,
                 story: Story) -> tuple[Operator, Operator, dict[str, int], list[DemoLogin]]:
    story.step("The maintenance crew")
    operators, logins, ids = [], [], {}
    for user in MAINTENANCE_USERS:
        created = await enlist_user(admin, user)
        operator = await log_in(client, user.username, user.password)
        operators.append(operator)
        ids[user.username] = int((await operator.call("GET", f"{V1}/auth/me"))["id"])
        logins.append(DemoLogin(user.username, user.role, user.password, created))
        story.fact(f"{user.role:<19} {user.username:<22} {'created' if created else 'already there'}")
    return operators[0], operators[1], ids, logins


async def machines(supervisor: Operator, tag: str, story: Story) -> tuple[int, int]:
    story.step("A plant and its machines; a breakdown")
    plant = await supervisor.call("POST", f"{V1}/plants", {"code": f"FAB-{tag}", "name": "Fabrication Plant"},
                                  expect=201)
    lathe = await supervisor.call("POST", f"{V1}/machines", {"machine_code": f"CNC-{tag}", "name": "CNC Lathe Machine",
                                                             "plant_id": plant["id"], "capacity_units_per_hour": 50},
                                  expect=201)
    await supervisor.call("PUT", f"{V1}/machines/{lathe['id']}/status", {"status": "running"})
    down = await supervisor.call("PUT", f"{V1}/machines/{lathe['id']}/status", {
        "status": "down", "reason_code": "mechanical_failure", "notes": "Hydraulic pump failed, maintenance called"})
    await supervisor.call("PUT", f"{V1}/machines/{lathe['id']}/status", {"status": "running"})
    story.fact(f"{lathe['machine_code']} down at {down['downtime_started_at']} ({down['downtime_reason']}), "
               f"running again")
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    event = await supervisor.call("POST", f"{V1}/downtime-events", {
        "machine_id": lathe["id"], "downtime_reason_code": "material_shortage",
        "started_at": yesterday.isoformat().replace("+00:00", "Z"),
        "ended_at": (yesterday + timedelta(minutes=150)).isoformat().replace("+00:00", "Z"),
        "notes": "Waiting for bar stock"}, expect=201)
    story.fact(f"logged afterwards: {event['downtime_reason']} {event['duration_minutes']} min; MTBF "
               f"{event['mtbf_hours']} h, MTTR {event['mttr_hours']} h")
    return plant["id"], lathe["id"]


async def preventive_maintenance(supervisor: Operator, technician: Operator, technician_id: int, machine_id: int,
                                 story: Story) -> tuple[int, int]:
    story.step("A PM schedule on a Temporal Schedule raises the PM work order; the technician completes it")
    last = (datetime.now(UTC) - timedelta(days=28)).date()
    schedule = await supervisor.call("POST", f"{V1}/pm-schedules", {
        "machine_id": machine_id, "pm_type": "lubrication", "frequency_type": "calendar", "frequency_value": 30,
        "frequency_unit": "days", "last_pm_date": str(last), "lead_time_days": 7, "estimated_duration_hours": 2,
        "assigned_technician_id": technician_id, "checklist": CHECKLIST}, expect=201)
    story.fact(f"PM schedule {schedule['id']} (Temporal Schedule pm-schedule-{schedule['id']}): next due "
               f"{schedule['next_due_date']}, {schedule['status']}")
    await supervisor.call("POST", f"{V1}/pm-schedules/{schedule['id']}/trigger", expect=202)
    order = await raised(supervisor, schedule["id"])
    story.fact(f"{order['work_order_number']} raised for {order['scheduled_date']}, assigned to "
               f"{order['assigned_technician']['name']}")
    await transition(technician, order["id"], "start")
    for item in order["checklist"]:
        await technician.call("PATCH", f"{V1}/pm-work-orders/{order['id']}/checklist/{item['id']}",
                              {"completed": True})
    done = await transition(technician, order["id"], "complete")
    after = await supervisor.call("GET", f"{V1}/pm-schedules/{schedule['id']}")
    story.fact(f"{order['work_order_number']} {done['current_state']} by {done['performed_by']['name']}; next due "
               f"{after['next_due_date']} ({after['status']})")
    return schedule["id"], order["id"]


async def raised(supervisor: Operator, schedule_id: int) -> dict[str, Any]:
    for _ in range(100):
        page = await supervisor.call("GET", f"{V1}/pm-work-orders?pm_schedule_id={schedule_id}")
        if page["pm_work_orders"]:
            return dict(page["pm_work_orders"][0])
        await asyncio.sleep(0.1)
    raise DemoError(f"PM schedule {schedule_id} raised no PM work order")


async def transition(user: Operator, order_id: int, code: str) -> dict[str, Any]:
    answer: dict[str, Any] = await user.call("POST", f"{V1}/workflows/pm_work_order/{order_id}/transition/{code}",
                                             {"comment": f"{code} (demo)"})
    return answer


async def run_maintenance(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> MaintenanceResult:
    story.section("ERP: maintenance")
    technician, supervisor, ids, logins = await enlist(client, admin, story)
    plant_id, machine_id = await machines(supervisor, tag, story)
    schedule_id, order_id = await preventive_maintenance(supervisor, technician, ids[technician.username],
                                                         machine_id, story)
    today = datetime.now(UTC).date()
    kpis = await supervisor.call("GET", f"{V1}/maintenance-metrics?plant_id={plant_id}"
                                        f"&start_date={today - timedelta(days=2)}&end_date={today}")
    story.fact(f"maintenance KPIs: PM compliance {kpis['metrics']['pm_compliance_percent']} %, downtime "
               f"{kpis['metrics']['total_downtime_minutes']} min")
    return MaintenanceResult(plant_id, machine_id, schedule_id, order_id, logins)
