"""The ERP part of `make demo`: a product with its routing and an inspection plan, two dependent work orders, a
failed first-piece inspection raising an NCR (with a photo) that holds the first work order and goes through
its lifecycle to `closed`, production logged to completion (which frees the second), and an SPC chart of the
measured diameter, all through the public REST API."""

import asyncio
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.settings import get_settings
from scripts.demo.kit import V1, DemoError, DemoLogin, DemoUser, Operator, Story, enlist_user, log_in, payload

ERP_USERS = (
    DemoUser("engineer", "demo-engineer", "demo-engineer-pass", "Erin Engineer"),
    DemoUser("supervisor", "demo-supervisor", "demo-supervisor-pass", "Sam Supervisor"),
    DemoUser("operator", "demo-operator", "demo-operator-pass", "John Doe"),
    DemoUser("inspector", "demo-qc-inspector", "demo-qc-inspector-pass", "Jane Inspector"),
    DemoUser("quality_manager", "demo-qc-manager", "demo-qc-manager-pass", "QC Manager"),
)
NCR_PATH = ("approve", "start", "resolve", "verify", "close")
# Diameters of the passing inspections the SPC chart reads (mm; spec 25 ± 0.1)
DIAMETERS = (25.02, 24.98, 25.01, 25.03, 24.99, 25.00, 25.04, 24.97, 25.02, 25.01, 24.99, 25.03)


@dataclass
class Crew:
    engineer: Operator
    supervisor: Operator
    operator: Operator
    inspector: Operator
    quality_manager: Operator
    admin: Operator
    logins: list[DemoLogin]

    def by_user_id(self, ids: dict[str, int], user_id: int | None) -> Operator:
        """The crew member a task is assigned to (the admin when it is nobody of the crew)."""
        for operator in (self.engineer, self.supervisor, self.operator, self.inspector, self.quality_manager):
            if ids.get(operator.username) == user_id:
                return operator
        return self.admin


@dataclass
class ErpResult:
    product_id: int
    first_work_order_id: int
    second_work_order_id: int
    failed_inspection_id: int
    ncr_id: int
    ncr_number: str
    characteristic_id: int
    spc_png: Path
    logins: list[DemoLogin]

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [f"work-order-{self.first_work_order_id}", f"ncr-report-{self.ncr_id}"]

    @property
    def running_workflow_ids(self) -> list[str]:
        return [f"work-order-{self.second_work_order_id}"]


def tiny_png() -> bytes:
    """A 2 × 2 grey PNG: what a phone photo of the crack would be, for the demo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


async def enlist_crew(client: httpx.AsyncClient, admin: Operator, story: Story) -> tuple[Crew, dict[str, int]]:
    story.step("The shop-floor crew")
    operators, logins = [], []
    for user in ERP_USERS:
        created = await enlist_user(admin, user)
        operators.append(await log_in(client, user.username, user.password))
        logins.append(DemoLogin(user.username, user.role, user.password, created))
        story.fact(f"{user.role:<19} {user.username:<18} {'created' if created else 'already there'}")
    ids = {}
    for operator in operators:
        me = await operator.call("GET", f"{V1}/auth/me")
        ids[operator.username] = int(me["id"])
    engineer, supervisor, operator, inspector, quality_manager = operators
    return Crew(engineer, supervisor, operator, inspector, quality_manager, admin, logins), ids


async def product_and_plan(crew: Crew, tag: str, story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    story.step("A product with its bill, routing and inspection plan")
    steel = await crew.engineer.call("POST", f"{V1}/materials", {
        "material_code": f"STL-25-{tag}", "name": "Steel bar 25mm", "unit_of_measure": "kg", "standard_cost": 5},
        expect=201)
    primer = await crew.engineer.call("POST", f"{V1}/materials", {
        "material_code": f"PRM-{tag}", "name": "Primer", "unit_of_measure": "l", "standard_cost": 1.6}, expect=201)
    product = await crew.engineer.call("POST", f"{V1}/products", {
        "product_code": f"SHAFT-25-{tag}", "name": "Steel Shaft 25mm", "unit_of_measure": "ea",
        "bom": [{"material_id": steel["id"], "quantity_per_unit": 2},
                {"material_id": primer["id"], "quantity_per_unit": 0.5}],
        "operations": [{"sequence": 10, "name": "Turn", "standard_minutes_per_unit": 3, "labor_rate_per_hour": 30},
                       {"sequence": 20, "name": "Grind", "standard_minutes_per_unit": 6}]}, expect=201)
    story.fact(f"{product['product_code']}: {product['material_cost_per_unit']:.2f} of material and "
               f"{product['labor_cost_per_unit']:.2f} of labour a unit")
    plan = await crew.quality_manager.call("POST", f"{V1}/inspection-plans", {
        "product_id": product["id"], "name": "Shaft first piece",
        "inspection_points": [{"name": "First Piece Inspection", "frequency_type": "first_piece", "characteristics": [
            {"name": "Shaft Diameter", "type": "dimensional", "specification": "25mm", "tolerance": "±0.1mm",
             "usl": 25.1, "lsl": 24.9, "measurement_method": "Micrometer"}]}]}, expect=201)
    story.fact(f"inspection plan {plan['id']}: Shaft Diameter 25mm ±0.1mm at the first piece")
    return product, plan


async def dependent_work_orders(crew: Crew, product: dict[str, Any],
                                story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    story.step("Two work orders, the second waiting for the first")
    first = await crew.supervisor.call("POST", f"{V1}/work-orders", {
        "product_id": product["id"], "quantity_ordered": 20, "priority": "high"}, expect=201)
    second = await crew.supervisor.call("POST", f"{V1}/work-orders", {
        "product_id": product["id"], "quantity_ordered": 10, "depends_on": [first["id"]]}, expect=201)
    response = await crew.operator.client.post(f"{V1}/work-orders/{second['id']}/start",
                                               headers={"Authorization": f"Bearer {crew.operator.token}"})
    refused = payload(response, 400, "starting the dependent work order")
    story.fact(f"{first['work_order_number']} (20) and {second['work_order_number']} (10); starting the second: "
               f"{refused['error']}: {refused['reason']}")
    await crew.supervisor.call("POST", f"{V1}/work-orders/{first['id']}/release")
    started = await crew.operator.call("POST", f"{V1}/work-orders/{first['id']}/start")
    story.fact(f"{first['work_order_number']} released, then started by {started['started_by']['name']}")
    return first, second


async def failed_first_piece(crew: Crew, first: dict[str, Any], plan: dict[str, Any],
                             story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    story.step("The first piece fails inspection: an NCR with a photo, the work order on hold")
    point = plan["inspection_points"][0]
    log = await crew.inspector.call("POST", f"{V1}/inspection-logs", {
        "work_order_id": first["id"], "inspection_point_id": point["id"],
        "measurements": [{"characteristic_id": point["characteristics"][0]["id"], "measured_value": 25.16,
                          "within_tolerance": False}], "notes": "Oversize after turning"}, expect=201)
    ncrs = await crew.inspector.call("GET", f"{V1}/ncr-reports?work_order_id={first['id']}")
    ncr = next(n for n in ncrs["ncr_reports"] if n["ncr_number"] == log["ncr_number"])
    response = await crew.inspector.client.post(
        f"{V1}/ncr-reports/{ncr['id']}/photos", headers={"Authorization": f"Bearer {crew.inspector.token}"},
        files=[("photos[]", ("diameter.png", tiny_png(), "image/png"))])
    photos = payload(response, 201, "adding a photo to the NCR")
    held = await crew.supervisor.call("GET", f"{V1}/work-orders/{first['id']}")
    story.fact(f"inspection {log['id']}: {log['overall_result']} (25.16 against 25mm ±0.1mm); {log['ncr_number']} "
               f"raised ({ncr['severity']}), {len(photos['photos'])} photo; {held['work_order_number']} "
               f"is {held['status']}")
    return log, ncr


async def ncr_to_closed(crew: Crew, ids: dict[str, int], ncr: dict[str, Any], first: dict[str, Any],
                        story: Story) -> None:
    story.step(f"{ncr['ncr_number']} through its lifecycle, each step by its assignee")
    assignee = (ncr.get("current_assignee") or {}).get("id")
    for code in NCR_PATH:
        actor = crew.by_user_id(ids, assignee)
        moved = await actor.call("POST", f"{V1}/workflows/ncr_report/{ncr['id']}/transition/{code}",
                                 {"comment": f"{code} (demo)"})
        assignee = (moved.get("current_assignee") or {}).get("id")
        story.fact(f"{code:<8} by {moved['performed_by']['name']:<16} {moved['previous_state']} → "
                   f"{moved['current_state']}")
        if code == "approve":
            resumed = await wait_for_status(crew, first, "in_progress")  # told by the NCR's lifecycle
            story.fact(f"         {first['work_order_number']} is {resumed['status']} once the NCR is approved")


async def produce(crew: Crew, first: dict[str, Any], second: dict[str, Any], story: Story) -> None:
    story.step("Production logged to the ordered quantity completes the first work order")
    for quantity, hours in ((12, 3.0), (8, 2.0)):
        await wait_for_status(crew, first, "in_progress")
        log = await crew.operator.call("POST", f"{V1}/production-logs", {
            "work_order_id": first["id"], "quantity_completed": quantity, "hours_worked": hours}, expect=201)
        story.fact(f"{quantity} units: {log['cumulative_completed']}/{log['quantity_ordered']} "
                   f"({log['progress_percent']} %), material {log['material_cost_added']:.2f}, "
                   f"labour {log['labor_cost_added']:.2f}")
    done = await wait_for_status(crew, first, "completed")
    story.fact(f"{done['work_order_number']} {done['status']}: cost {done['costs']['total_cost']:.2f}")
    await crew.supervisor.call("POST", f"{V1}/work-orders/{first['id']}/close")
    started = await crew.operator.call("POST", f"{V1}/work-orders/{second['id']}/start")
    story.fact(f"{started['work_order_number']} may start now: {started['status']}")


async def wait_for_status(crew: Crew, order: dict[str, Any], status: str) -> dict[str, Any]:
    for _ in range(100):
        shown: dict[str, Any] = await crew.supervisor.call("GET", f"{V1}/work-orders/{order['id']}")
        if shown["status"] == status:
            return shown
        await asyncio.sleep(0.1)
    raise DemoError(f"{order['work_order_number']} did not become {status}")


async def spc_chart(crew: Crew, second: dict[str, Any], plan: dict[str, Any], tag: str,
                    story: Story) -> tuple[int, Path]:
    story.step("Inspections during the second run, and the SPC chart of the diameter")
    point = plan["inspection_points"][0]
    characteristic = point["characteristics"][0]["id"]
    for value in DIAMETERS:
        await crew.inspector.call("POST", f"{V1}/inspection-logs", {
            "work_order_id": second["id"], "inspection_point_id": point["id"],
            "measurements": [{"characteristic_id": characteristic, "measured_value": value}]}, expect=201)
    day = (await crew.inspector.call("GET", f"{V1}/work-orders/{second['id']}"))["created_at"][:10]
    query = f"characteristic_id={characteristic}&start_date={day}&end_date={day}"
    chart = await crew.quality_manager.call("GET", f"{V1}/spc-charts?{query}")
    limits, capability = chart["control_limits"], chart["capability"]
    story.fact(f"{len(chart['data_points'])} points: center {limits['center_line']}, UCL {limits['ucl']}, "
               f"LCL {limits['lcl']}; Cp {capability['cp']}, Cpk {capability['cpk']} "
               f"({capability['interpretation']}); {len(chart['alerts'])} alerts")
    image = await crew.quality_manager.client.get(f"{V1}/spc-charts?{query}&format=png",
                                                  headers={"Authorization": f"Bearer {crew.quality_manager.token}"})
    if image.status_code != 200 or not image.content.startswith(b"\x89PNG"):
        raise DemoError(f"the SPC chart as PNG answered {image.status_code}")
    path = get_settings().data_dir / f"demo-spc-{tag}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image.content)
    story.fact(f"the chart as an image: {path}")
    return characteristic, path


async def run_erp(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> ErpResult:
    story.section("ERP: the shop floor")
    crew, ids = await enlist_crew(client, admin, story)
    product, plan = await product_and_plan(crew, tag, story)
    first, second = await dependent_work_orders(crew, product, story)
    failed, ncr = await failed_first_piece(crew, first, plan, story)
    await ncr_to_closed(crew, ids, ncr, first, story)
    await produce(crew, first, second, story)
    characteristic, png = await spc_chart(crew, second, plan, tag, story)
    return ErpResult(product["id"], first["id"], second["id"], failed["id"], ncr["id"], ncr["ncr_number"],
                     characteristic, png, crew.logins)
