"""The procurement part of `make demo`: suppliers and materials, purchase orders in every approval band,
an escalated request, goods receipts passed and failed — all through the public REST API."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from scripts.demo.kit import V1, DemoLogin, DemoUser, Operator, Story, enlist_user, log_in

PO = f"{V1}/purchase-orders"
PROCUREMENT_USERS = (
    DemoUser("purchase", "demo-buyer", "demo-buyer-pass", "Mike Purchase"),
    DemoUser("head_of_operations", "demo-head-ops", "demo-head-ops-pass", "John Operations"),
    DemoUser("director", "demo-director", "demo-director-pass", "Jane Director"),
    DemoUser("store", "demo-store", "demo-store-pass", "Stella Store"),
    DemoUser("qa", "demo-inspector", "demo-inspector-pass", "Ines Inspector"),
)
ESCALATION_SLA_SECONDS = 3


@dataclass
class Buyers:
    buyer: Operator
    head: Operator
    director: Operator
    store: Operator
    inspector: Operator
    logins: list[DemoLogin] = field(default_factory=list)


@dataclass
class ProcurementResult:
    auto_approved_po_id: int
    one_step_po_id: int
    two_step_po_id: int
    received_po_id: int
    failed_grn_id: int
    passed_grn_id: int
    escalated_instance_id: int
    logins: list[DemoLogin]


async def enlist_buyers(client: httpx.AsyncClient, admin: Operator, story: Story) -> Buyers:
    story.step("The procurement crew")
    operators, logins = [], []
    for user in PROCUREMENT_USERS:
        created = await enlist_user(admin, user)
        operators.append(await log_in(client, user.username, user.password))
        logins.append(DemoLogin(user.username, user.role, user.password, created))
        story.fact(f"{user.role:<19} {user.username:<15} {'created' if created else 'already there'}")
    buyer, head, director, store, inspector = operators
    return Buyers(buyer, head, director, store, inspector, logins)


async def master_data(crew: Buyers, admin: Operator, tag: str, story: Story) -> tuple[int, int, int]:
    story.step("A supplier and two materials")
    supplier = await admin.call("POST", f"{V1}/suppliers", {
        "name": "Aerospace Metals Inc.", "code": f"AMI-{tag}", "status": "active", "tier": "tier_1",
        "is_as9100_certified": True}, expect=201)
    titanium = await admin.call("POST", f"{V1}/materials", {
        "name": "Titanium Alloy Ti-6Al-4V", "part_number": f"MAT-TI-{tag}", "material_type": "alloy",
        "status": "active", "unit_cost": 85.50, "unit_of_measure": "kg"}, expect=201)
    aluminium = await admin.call("POST", f"{V1}/materials", {
        "name": "Aluminum Alloy 7075-T6", "part_number": f"MAT-AL-{tag}", "material_type": "alloy",
        "status": "active", "unit_cost": 12.75, "unit_of_measure": "kg"}, expect=201)
    story.fact(f"supplier {supplier['id']} {supplier['code']}; materials {titanium['id']} (titanium), "
               f"{aluminium['id']} (aluminium)")
    return supplier["id"], titanium["id"], aluminium["id"]


async def purchase_order(buyer: Operator, supplier_id: int, material_id: int, quantity: float, price: float,
                         **fields: Any) -> dict[str, Any]:
    body = {"supplier_id": supplier_id, "priority": "high", "currency": "USD", **fields,
            "line_items": [{"material_id": material_id, "quantity_ordered": quantity, "unit_of_measure": "kg",
                            "unit_price": price}]}
    po: dict[str, Any] = await buyer.call("POST", PO, body, expect=201)
    return await buyer.call("POST", f"{PO}/{po['id']}/submit", {"notes": "Demo order"})


async def approval_bands(crew: Buyers, supplier_id: int, titanium: int, aluminium: int,
                         story: Story) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    story.step("Purchase orders in each approval band")
    small = await purchase_order(crew.buyer, supplier_id, aluminium, 100, 24.00)
    story.fact(f"{small['po_number']} USD {small['total_amount']:,.2f}: {small['status']} at once (below 5,000)")
    medium = await purchase_order(crew.buyer, supplier_id, titanium, 100, 120.00, requires_inspection=True)
    medium = await crew.head.call("POST", f"{PO}/{medium['id']}/approve",
                                  {"action": "approved", "comments": "Within budget"})
    story.fact(f"{medium['po_number']} USD {medium['total_amount']:,.2f}: {medium['status']} by Head of "
               f"Operations (one step)")
    large = await purchase_order(crew.buyer, supplier_id, titanium, 400, 120.00)
    await crew.head.call("POST", f"{PO}/{large['id']}/approve", {"action": "approved", "comments": "Reviewed"})
    large = await crew.director.call("POST", f"{PO}/{large['id']}/approve",
                                     {"action": "approved", "comments": "Final approval granted."})
    story.fact(f"{large['po_number']} USD {large['total_amount']:,.2f}: {large['status']} by Head of Operations "
               f"then the Director (two steps)")
    return small, medium, large


async def receive(crew: Buyers, po: dict[str, Any], lot: str) -> dict[str, Any]:
    line = po["line_items"][0]
    return await crew.store.call("POST", f"{PO}/{po['id']}/receive", {
        "delivery_note_number": f"DN-{lot}", "coc_received": True, "storage_location": "Warehouse-A",
        "line_items": [{"po_line_item_id": line["id"], "quantity_received": line["quantity_ordered"],
                        "lot_number": lot, "heat_number": f"HT-{lot}", "bin_number": "A-12-03"}]}, expect=201)


async def goods_receipts(crew: Buyers, medium: dict[str, Any], large: dict[str, Any], tag: str,
                         story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    story.step("Goods receipts: one fails inspection, one goes into stock")
    failed = await receive(crew, medium, f"{tag}-1")
    failed = await crew.inspector.call(
        "POST", f"{PO}/grn/{failed['id']}/inspect?inspection_passed=false&inspection_notes=Failed%20hardness%20test")
    story.fact(f"{failed['grn_number']} for {medium['po_number']}: {failed['status']}, {failed['ncr_number']} raised")
    await crew.buyer.call("POST", f"{PO}/{large['id']}/order?tracking_number=TRK-{tag}")
    passed = await receive(crew, large, f"{tag}-2")
    passed = await crew.store.call("POST", f"{PO}/grn/{passed['id']}/accept")
    story.fact(f"{passed['grn_number']} for {large['po_number']}: {passed['status']} into inventory "
               f"(record {passed['line_items'][0]['inventory_id']})")
    for _ in range(50):
        po = await crew.buyer.call("GET", f"{PO}/{large['id']}")
        if po["status"] == "received":
            break
        await asyncio.sleep(0.1)
    story.fact(f"{large['po_number']} is {po['status']}")
    return failed, passed


async def escalation(crew: Buyers, tag: str, story: Story) -> dict[str, Any]:
    story.step(f"An approval nobody decides within its SLA ({ESCALATION_SLA_SECONDS} s) escalates")
    entity = f"capex_{tag.replace('-', '_')}"
    await crew.director.call("POST", f"{V1}/workflows/templates", {
        "name": f"Capital expense {tag}", "entity_type": entity, "sla_seconds": ESCALATION_SLA_SECONDS,
        "steps": [{"name": "Head of Operations review", "approver_role": "head_of_operations"}]}, expect=201)
    instance = await crew.buyer.call("POST", f"{V1}/workflows/instances", {
        "reference_type": entity, "reference_id": 1, "reference_number": f"CAPEX-{tag}", "amount": 18000},
        expect=201)
    for _ in range(100):
        detail = await crew.buyer.call("GET", f"{V1}/workflows/instances/{instance['id']}")
        tasks = detail.get("approvals") or []
        if tasks and tasks[0].get("is_escalated"):
            break
        await asyncio.sleep(0.2)
    story.fact(f"request {instance['id']} CAPEX-{tag}: step 1 escalated to the Directors; it waits in "
               f"their inbox and in the Temporal UI as approval-{instance['id']}")
    return instance


async def run_procurement(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> ProcurementResult:
    crew = await enlist_buyers(client, admin, story)
    supplier_id, titanium, aluminium = await master_data(crew, admin, tag, story)
    small, medium, large = await approval_bands(crew, supplier_id, titanium, aluminium, story)
    failed, passed = await goods_receipts(crew, medium, large, tag, story)
    instance = await escalation(crew, tag, story)
    return ProcurementResult(small["id"], medium["id"], large["id"], large["id"], failed["id"], passed["id"],
                             instance["id"], crew.logins)
