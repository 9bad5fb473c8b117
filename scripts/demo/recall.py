"""The recall part of `make demo`: a lot of material received, motors built from it and serialised, pumps built
from those motors and shipped to a customer; the forward trace from the lot reaches the customer through the
motor, the backward trace from a pump finds the lot; a recall of the lot lists the customer, writes its PDF and
notifies the customer through its lifecycle."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scripts.demo.kit import V1, DemoError, Operator, Story


@dataclass
class RecallResult:
    lot_number: str
    motor_serials: list[str]
    pump_serials: list[str]
    shipment_number: str
    recall_id: int
    recall_number: str
    export_url: str

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [f"recall-{self.recall_id}"]


async def built(admin: Operator, made: dict[str, Any], quantity: int, prefix: str,
                consumed: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """A work order of the product: started, its consumption recorded, produced to completion at its assembly
    operation, serialised."""
    product_id = made["id"]
    order = await admin.call("POST", f"{V1}/work-orders", {"product_id": product_id, "quantity_ordered": quantity},
                             expect=201)
    await admin.call("POST", f"{V1}/work-orders/{order['id']}/start")
    for consumption in consumed:
        await admin.call("POST", f"{V1}/work-orders/{order['id']}/material-consumption", consumption, expect=201)
    await admin.call("POST", f"{V1}/production-logs", {"work_order_id": order["id"], "quantity_completed": quantity,
                                                       "operation_id": made["operations"][0]["id"],
                                                       "hours_worked": 1}, expect=201)
    serials = await admin.call("POST", f"{V1}/serial-numbers/generate", {
        "work_order_id": order["id"], "product_id": product_id, "quantity": quantity, "serial_prefix": prefix},
        expect=201)
    return order, list(serials["serial_numbers"])


async def product(admin: Operator, code: str, name: str, material_id: int) -> dict[str, Any]:
    made: dict[str, Any] = await admin.call("POST", f"{V1}/products", {
        "product_code": code, "name": name, "unit_of_measure": "ea",
        "bom": [{"material_id": material_id, "quantity_per_unit": 1}],
        "operations": [{"sequence": 10, "name": "Assembly", "standard_minutes_per_unit": 20},
                       {"sequence": 20, "name": "Testing", "standard_minutes_per_unit": 10}]}, expect=201)
    return made


async def genealogy(admin: Operator, tag: str, story: Story) -> tuple[str, list[str], list[str], str]:
    story.step("A lot goes into motors, the motors into pumps, the pumps to a customer")
    steel = await admin.call("POST", f"{V1}/materials", {"material_code": f"STL-{tag}", "name": "Steel Plate 10mm",
                                                         "unit_of_measure": "kg", "standard_cost": 5}, expect=201)
    lot = await admin.call("POST", f"{V1}/lot-numbers", {"material_id": steel["id"], "quantity": 500,
                                                         "receipt_date": str(datetime.now(UTC).date())}, expect=201)
    motor = await product(admin, f"MOT-{tag}", "Motor", steel["id"])
    pump = await product(admin, f"PUMP-{tag}", "Hydraulic Pump", steel["id"])
    stamp = tag.replace("-", "")[-8:].upper()
    motor_order, motors = await built(admin, motor, 2, f"MOT{stamp}",
                                      [{"lot_number": lot["lot_number"], "quantity": 20}])
    pump_order, pumps = await built(admin, pump, 2, f"PUMP{stamp}", [{"serial_number": s} for s in motors])
    customer = await admin.call("POST", f"{V1}/customers", {"name": "Acme Manufacturing",
                                                            "contact_email": "john@acme.example",
                                                            "contact_phone": "+1-555-0100"}, expect=201)
    shipment = await admin.call("POST", f"{V1}/shipments", {"customer_id": customer["id"],
                                                            "ship_date": str(datetime.now(UTC).date()),
                                                            "serial_numbers": pumps}, expect=201)
    story.fact(f"lot {lot['lot_number']} → {motor_order['work_order_number']} motors {', '.join(motors)} → "
               f"{pump_order['work_order_number']} pumps {', '.join(pumps)} → {shipment['shipment_number']} to "
               f"{customer['name']}")
    return lot["lot_number"], motors, pumps, shipment["shipment_number"]


async def traces(admin: Operator, lot_number: str, pump: str, story: Story) -> None:
    story.step("Forward and backward trace")
    forward = await admin.call("GET", f"{V1}/traceability/forward?lot_number={lot_number}")
    story.fact(f"forward from {lot_number}: {len(forward['affected_products'])} work orders, "
               f"{forward['total_affected_units']} units, {forward['total_affected_customers']} customer(s)")
    backward = await admin.call("GET", f"{V1}/traceability/backward?serial_number={pump}")
    lots = sorted({m["lot_number"] for m in backward["genealogy"]["materials_used"] if m.get("lot_number")})
    story.fact(f"backward from {pump}: lots {', '.join(lots)}; operations "
               f"{', '.join(str(o['operation']) for o in backward['genealogy']['operations_performed'])}")


async def recall(admin: Operator, lot_number: str, story: Story) -> dict[str, Any]:
    story.step(f"A recall of {lot_number}: the PDF and the customers notified")
    report: dict[str, Any] = await admin.call("POST", f"{V1}/recall-reports", {
        "recall_reason": "Defective hydraulic pump component - potential leak", "lot_number": lot_number,
        "severity": "critical"}, expect=201)
    for _ in range(100):
        shown = await admin.call("GET", f"{V1}/recall-reports/{report['id']}")
        if shown["status"] == "notified":
            break
        await asyncio.sleep(0.1)
    else:
        raise DemoError(f"{report['recall_id']} did not notify its customers")
    pdf = await admin.client.get(report["export_url"], headers={"Authorization": f"Bearer {admin.token}"})
    if pdf.status_code != 200 or not pdf.content.startswith(b"%PDF"):
        raise DemoError(f"the recall PDF answered {pdf.status_code}")
    story.fact(f"{report['recall_id']}: {report['total_affected_units']} units at "
               f"{report['total_affected_customers']} customer(s), "
               + ", ".join(f"{c['customer_name']} {c['notification_status']}" for c in shown["affected_customers"])
               + f"; PDF {report['export_url']} ({len(pdf.content):,} bytes)")
    return report


async def run_recall(admin: Operator, tag: str, story: Story) -> RecallResult:
    story.section("ERP: traceability and recall")
    lot_number, motors, pumps, shipment = await genealogy(admin, tag, story)
    await traces(admin, lot_number, pumps[0], story)
    report = await recall(admin, lot_number, story)
    return RecallResult(lot_number, motors, pumps, shipment, int(report["id"]), report["recall_id"],
                        report["export_url"])
