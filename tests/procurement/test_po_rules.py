"""The purchase-order lifecycle and its approval rules through the API (issue 3 §2-§4): every request
example of the contract's "Purchase Orders (Enhanced)", the role matrix of "Purchase Order Workflow
Permissions", the approval thresholds, segregation of duties, approval limits, one decision per step,
history, order, cancel, draft edits, and SLA escalation.

The escalation test installs its own purchase-order template (the newest active template replaces the
default policy) and deactivates it at the end: it must not run beside other PO tests (the suite is serial)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from api.approvals.decisions import decide as decide_instance
from core.db import session_scope
from core.errors import AppError
from core.settings import get_settings
from dto.approvals import ApprovalAction, Decision
from dto.identity import Actor
from models.approvals import ApprovalTemplate, ApprovalTemplateStep
from models.notifications import Notification
from models.procurement import PurchaseOrder, PurchaseOrderLine
from tests.conftest import eventually, unique
from tests.procurement.helpers import (
    PO,
    approval_instance,
    approval_tasks,
    contract_po_body,
    decide,
    draft_po,
    history_of,
    open_tasks,
    po_body,
    submitted_po,
    supplier_and_material,
    supplier_and_materials,
)

CLIENT_IP = "10.1.2.3"  # the test transport's client address (tests/conftest.py)
HISTORY_FIELDS = {"id", "purchase_order_id", "user_id", "action", "from_status", "to_status", "comments",
                  "po_total_at_action", "po_revision_at_action", "ip_address", "created_at"}


def z_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- the contract's request examples, as written ------------------------------------------------------

async def test_create_example_as_written_answers_the_contract_shape(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, material_ids = supplier_and_materials(session_factory, 2)
    response = await api.post(PO, json=contract_po_body(supplier_id, material_ids), headers=buyer.headers)
    assert response.status_code == 201, response.text
    po = response.json()
    assert {"id", "po_number", "supplier_id", "created_by_id", "approved_by_id", "status", "priority", "po_date",
            "required_date", "subtotal", "tax_amount", "shipping_cost", "discount_amount", "total_amount",
            "currency", "revision_number", "line_items", "created_at"} <= po.keys()
    assert po["po_number"].startswith("PO-") and isinstance(po["id"], int)
    assert (po["supplier_id"], po["created_by_id"], po["approved_by_id"]) == (supplier_id, buyer.id, None)
    assert (po["status"], po["priority"], po["revision_number"], po["currency"]) == ("draft", "high", 1, "USD")
    assert po["required_date"] == "2026-02-15" and po["expected_delivery_date"] == "2026-02-10"
    date.fromisoformat(po["po_date"])
    z_time(po["created_at"])
    # The contract's 5337.50 is an arithmetic slip: 50 × 85.50 × 0.95 + 100 × 12.75 = 4061.25 + 1275 = 5336.25.
    assert po["subtotal"] == 5336.25
    assert (po["tax_amount"], po["shipping_cost"], po["discount_amount"]) == (450, 150, 0)
    assert po["total_amount"] == 5936.25  # 5336.25 + 450 + 150
    for field, value in [("shipping_method", "Air Freight"), ("shipping_address", "1234 Factory Blvd, Warehouse A"),
                         ("requisition_number", "REQ-2026-001"), ("project_reference", "PRJ-MLG-2026"),
                         ("work_order_reference", "WO-MLG-001"), ("requires_certification", True),
                         ("requires_inspection", True), ("payment_terms", "Net 30"),
                         ("delivery_terms", "FOB Origin"), ("notes", "Urgent order for MLG production")]:
        assert po[field] == value, field
    first, second = po["line_items"]
    assert {"id", "line_number", "material_id", "quantity_ordered", "quantity_received", "quantity_accepted",
            "unit_price", "discount_percent", "total_price", "material_stage"} <= first.keys()
    assert (first["line_number"], first["material_id"], first["quantity_ordered"], first["quantity_received"],
            first["quantity_accepted"], first["unit_price"], first["discount_percent"], first["total_price"],
            first["material_stage"]) == (1, material_ids[0], 50.0, 0, 0, 85.5, 5, 4061.25, "on_order")
    assert (first["specification"], first["revision"], first["required_date"], first["notes"]) == (
        "AMS 4911", "C", "2026-02-15", "Heat treated condition")
    assert (second["line_number"], second["material_id"], second["total_price"], second["discount_percent"],
            second["specification"]) == (2, material_ids[1], 1275.0, 0, "AMS 4045")
    # what was created is what is read back
    read = await api.get(f"{PO}/{po['id']}", headers=buyer.headers)
    assert read.status_code == 200 and read.json()["total_amount"] == 5936.25
    assert [line["id"] for line in read.json()["line_items"]] == [first["id"], second["id"]]


async def test_example_lifecycle_submit_approve_order_and_history_as_written(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    supplier_id, material_ids = supplier_and_materials(session_factory, 2)
    po = (await api.post(PO, json=contract_po_body(supplier_id, material_ids), headers=buyer.headers)).json()

    submitted = await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)  # no body, as written
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["id"], submitted.json()["po_number"], submitted.json()["status"]) == (
        po["id"], po["po_number"], "pending_approval")

    approved = await api.post(f"{PO}/{po['id']}/approve", headers=head.headers,
                              json={"action": "approved", "comments": "Approved - within budget allocation"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by_id"] == head.id
    assert approved.json()["approved_at"] is not None

    ordered = await api.post(f"{PO}/{po['id']}/order?tracking_number=TRK123456", headers=buyer.headers)
    assert ordered.status_code == 200, ordered.text
    assert ordered.json()["status"] == "ordered" and ordered.json()["tracking_number"] == "TRK123456"
    assert ordered.json()["ordered_at"] is not None

    history = await history_of(api, buyer, po["id"])
    for row in history:
        assert HISTORY_FIELDS <= row.keys(), row
        assert row["purchase_order_id"] == po["id"]
        z_time(row["created_at"])
    assert [(h["action"], h["from_status"], h["to_status"], h["user_id"]) for h in history] == [
        ("ordered", "approved", "ordered", buyer.id),
        ("approved", "pending_approval", "approved", head.id),
        ("submitted", "draft", "pending_approval", buyer.id),
        ("created", None, "draft", buyer.id)]
    assert [h["id"] for h in history] == sorted((h["id"] for h in history), reverse=True)  # newest first
    ordered_row, approved_row, submitted_row, _ = history
    assert approved_row["comments"] == "Approved - within budget allocation"
    assert submitted_row["comments"] == "Submitted for approval"
    assert "TRK123456" in ordered_row["comments"]
    for row in (ordered_row, approved_row, submitted_row):
        assert row["po_total_at_action"] == 5936.25 and row["po_revision_at_action"] == 1
        assert row["ip_address"] == CLIENT_IP


async def test_reject_example_as_written_goes_back_to_draft(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "8000")
    rejected = await api.post(f"{PO}/{po['id']}/approve", headers=head.headers,
                              json={"action": "rejected", "comments": "Pricing needs renegotiation with supplier"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "draft" and rejected.json()["approved_by_id"] is None
    latest = (await history_of(api, buyer, po["id"]))[0]
    assert (latest["action"], latest["from_status"], latest["to_status"], latest["user_id"], latest["comments"]) == (
        "rejected", "pending_approval", "draft", head.id, "Pricing needs renegotiation with supplier")
    tasks = approval_tasks(session_factory, po["approval_instance_id"])
    assert [(t["status"], t["approver_id"]) for t in tasks] == [("rejected", head.id)]
    instance = await eventually(lambda: (row := approval_instance(session_factory, po["approval_instance_id"]))
                                ["completed_at"] and row)
    assert instance["status"] == "rejected"


async def test_return_example_as_written_goes_back_to_draft_and_resubmission_is_revision_two(
        api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "8000")
    returned = await api.post(f"{PO}/{po['id']}/approve", headers=head.headers,
                              json={"action": "returned", "comments": "Please add backup supplier quote"})
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "draft" and returned.json()["revision_number"] == 1
    # back in draft, it is editable again: add a line (the backup quote), and resubmit
    _, material_id = supplier_and_material(session_factory)
    added = await api.post(f"{PO}/{po['id']}/items", headers=buyer.headers,
                           json={"material_id": material_id, "quantity_ordered": 2, "unit_price": 500})
    assert added.status_code == 201, added.text
    assert added.json()["total_amount"] == 9000
    resubmitted = await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers,
                                 json={"notes": "Backup quote attached"})
    assert resubmitted.status_code == 200, resubmitted.text
    again = resubmitted.json()
    assert (again["status"], again["revision_number"]) == ("pending_approval", 2)
    assert again["approval_instance_id"] != po["approval_instance_id"]  # a new approval for the new revision
    assert approval_instance(session_factory, again["approval_instance_id"])["amount"] == Decimal("9000.00")
    history = await history_of(api, buyer, po["id"])
    assert [(h["action"], h["to_status"], h["po_revision_at_action"], h["po_total_at_action"])
            for h in history[:3]] == [("submitted", "pending_approval", 2, 9000),
                                      ("returned", "draft", 1, 8000),
                                      ("submitted", "pending_approval", 1, 8000)]
    assert history[0]["comments"] == "Backup quote attached"
    assert history[1]["comments"] == "Please add backup supplier quote"
    first = approval_instance(session_factory, po["approval_instance_id"])
    assert (first["status"], first["amount"]) == ("returned", Decimal("8000.00"))
    final = await decide(api, head, po["id"])
    assert final.status_code == 200 and final.json()["status"] == "approved"
    assert (await history_of(api, buyer, po["id"]))[0]["po_revision_at_action"] == 2


async def test_cancel_example_as_written(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await draft_po(api, buyer, session_factory, "1200")
    cancelled = await api.post(f"{PO}/{po['id']}/cancel?reason=Project%20cancelled", headers=head.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Project cancelled"
    latest = (await history_of(api, buyer, po["id"]))[0]
    assert (latest["action"], latest["from_status"], latest["to_status"], latest["comments"], latest["user_id"]) == (
        "cancelled", "draft", "cancelled", "Project cancelled", head.id)


async def test_list_with_every_filter_of_the_contract(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (material_id,) = supplier_and_materials(session_factory, 1)
    tag = unique("REQ")
    made = []
    for n, priority in enumerate(["high", "high", "low"]):
        response = await api.post(PO, headers=buyer.headers, json=po_body(
            supplier_id, material_id, "100", priority=priority, requisition_number=f"{tag}-{n}"))
        assert response.status_code == 201, response.text
        made.append(response.json())
    submitted = await api.post(f"{PO}/{made[1]['id']}/submit", headers=buyer.headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "approved"  # 100 < 5,000

    async def ids(**params: Any) -> list[int]:
        response = await api.get(PO, params={"supplier_id": supplier_id, **params}, headers=buyer.headers)
        assert response.status_code == 200, response.text
        return [po["id"] for po in response.json()["items"]]

    newest_first = [po["id"] for po in reversed(made)]
    assert await ids() == newest_first
    assert await ids(priority="high") == newest_first[1:]
    assert await ids(status="draft") == [made[2]["id"], made[0]["id"]]
    assert await ids(status="approved", priority="high") == [made[1]["id"]]
    assert await ids(status="pending_approval") == []
    assert await ids(search=f"{tag}-2") == [made[2]["id"]]  # by requisition number
    assert await ids(search=tag.lower()) == newest_first  # case-insensitive
    assert await ids(search=made[0]["po_number"]) == [made[0]["id"]]  # by PO number
    po_date = date.fromisoformat(made[0]["po_date"])
    assert await ids(from_date=po_date.isoformat(), to_date=po_date.isoformat()) == newest_first
    assert await ids(to_date=(po_date - timedelta(days=1)).isoformat()) == []
    assert await ids(from_date=(po_date + timedelta(days=1)).isoformat()) == []

    page = await api.get(PO, params={"page": 1, "page_size": 2, "status": "draft", "priority": "high",
                                     "supplier_id": supplier_id}, headers=buyer.headers)
    assert page.status_code == 200 and page.json()["total"] == 1
    first = (await api.get(PO, params={"supplier_id": supplier_id, "page": 1, "page_size": 2},
                           headers=buyer.headers)).json()
    second = (await api.get(PO, params={"supplier_id": supplier_id, "page": 2, "page_size": 2},
                            headers=buyer.headers)).json()
    assert (first["total"], first["page"], first["page_size"], first["total_pages"]) == (3, 1, 2, 2)
    assert [po["id"] for po in first["items"] + second["items"]] == newest_first
    assert first["items"][0]["line_items"][0]["material_id"] == material_id  # items are full POs
    # the contract's own query line
    example = await api.get(f"{PO}?page=1&page_size=20&status=pending_approval&priority=high", headers=buyer.headers)
    assert example.status_code == 200
    assert all(po["status"] == "pending_approval" and po["priority"] == "high" for po in example.json()["items"])
    for bad in ({"status": "nonsense"}, {"page_size": 0}, {"page_size": 101}, {"page": 0}, {"from_date": "soon"}):
        refused = await api.get(PO, params=bad, headers=buyer.headers)
        assert refused.status_code == 422, (bad, refused.text)


async def test_summary_counts_and_values(api, make_user, session_factory):
    buyer = await make_user("purchase")
    fields = {"total_pos", "draft_count", "pending_approval_count", "approved_count", "ordered_count",
              "received_count", "total_value", "pending_value"}

    async def summary() -> dict[str, Any]:
        response = await api.get(f"{PO}/summary", headers=buyer.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert fields <= body.keys()
        return body

    before = await summary()
    await draft_po(api, buyer, session_factory, "100.25")
    await submitted_po(api, buyer, session_factory, "6000.50")
    approved = await submitted_po(api, buyer, session_factory, "200")
    ordered = await api.post(f"{PO}/{approved['id']}/order", headers=buyer.headers)
    assert ordered.status_code == 200, ordered.text
    after = await summary()
    delta = {key: round(after[key] - before[key], 2) for key in fields}
    assert delta == {"total_pos": 3, "draft_count": 1, "pending_approval_count": 1, "approved_count": 0,
                     "ordered_count": 1, "received_count": 0, "total_value": 6300.75, "pending_value": 6000.5}


# --- "Purchase Order Workflow Permissions" ------------------------------------------------------------

MANAGERS = ["purchase", "head_of_operations", "director"]
NOT_MANAGERS = ["store", "qa", "viewer", "engineer"]


@pytest.mark.parametrize("role", MANAGERS)
async def test_create_update_submit_and_order_by(role, api, make_user, session_factory):
    user = await make_user(role)
    supplier_id, material_id = supplier_and_material(session_factory)
    created = await api.post(PO, json=po_body(supplier_id, material_id, "1000"), headers=user.headers)
    assert created.status_code == 201, created.text
    po_id = created.json()["id"]
    updated = await api.put(f"{PO}/{po_id}", json={"notes": f"edited by {role}", "shipping_cost": 20},
                            headers=user.headers)
    assert updated.status_code == 200 and updated.json()["total_amount"] == 1020, updated.text
    added = await api.post(f"{PO}/{po_id}/items", json={"material_id": material_id, "quantity_ordered": 1,
                                                        "unit_price": 30}, headers=user.headers)
    assert added.status_code == 201 and added.json()["total_amount"] == 1050, added.text
    submitted = await api.post(f"{PO}/{po_id}/submit", headers=user.headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "approved", submitted.text
    ordered = await api.post(f"{PO}/{po_id}/order", params={"tracking_number": f"TRK-{role}"}, headers=user.headers)
    assert ordered.status_code == 200 and ordered.json()["status"] == "ordered", ordered.text


@pytest.mark.parametrize("role", NOT_MANAGERS)
async def test_create_update_submit_order_and_cancel_refused_for(role, api, make_user, session_factory):
    buyer, user = await make_user("purchase"), await make_user(role)
    supplier_id, material_id = supplier_and_material(session_factory)
    draft = await draft_po(api, buyer, session_factory, "1000")
    approved = await submitted_po(api, buyer, session_factory, "1000")
    line_id = draft["line_items"][0]["id"]
    attempts = [
        ("POST", PO, po_body(supplier_id, material_id, "1000"), None),
        ("PUT", f"{PO}/{draft['id']}", {"notes": "x"}, None),
        ("POST", f"{PO}/{draft['id']}/items", {"material_id": material_id, "quantity_ordered": 1, "unit_price": 1},
         None),
        ("PUT", f"{PO}/{draft['id']}/items/{line_id}", {"quantity_ordered": 3}, None),
        ("DELETE", f"{PO}/{draft['id']}/items/{line_id}", None, None),
        ("POST", f"{PO}/{draft['id']}/submit", None, None),
        ("DELETE", f"{PO}/{draft['id']}", None, None),
        ("POST", f"{PO}/{approved['id']}/order", None, {"tracking_number": "TRK"}),
        ("POST", f"{PO}/{approved['id']}/cancel", None, {"reason": "no"}),
    ]
    for method, url, body, params in attempts:
        response = await api.request(method, url, json=body, params=params, headers=user.headers)
        assert response.status_code == 403, (role, method, url, response.text)
        assert response.json()["code"] == "ACCESS_DENIED"
    # nothing moved
    assert (await api.get(f"{PO}/{draft['id']}", headers=buyer.headers)).json()["status"] == "draft"
    assert (await api.get(f"{PO}/{draft['id']}", headers=buyer.headers)).json()["total_amount"] == 1000
    assert (await api.get(f"{PO}/{approved['id']}", headers=buyer.headers)).json()["status"] == "approved"


@pytest.mark.parametrize("role", ["head_of_operations", "director"])
async def test_cancel_by(role, api, make_user, session_factory):
    buyer, user = await make_user("purchase"), await make_user(role)
    po = await submitted_po(api, buyer, session_factory, "1000")
    cancelled = await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "Supplier out of business"},
                               headers=user.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Supplier out of business"


async def test_purchase_cannot_cancel(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "1000")
    refused = await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "mine"}, headers=buyer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED", refused.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "draft"


async def test_reads_by_viewer_allowed_and_technician_refused(api, make_user, session_factory):
    buyer, viewer, technician = await make_user("purchase"), await make_user("viewer"), await make_user("technician")
    po = await submitted_po(api, buyer, session_factory, "1000")
    for url in (PO, f"{PO}/summary", f"{PO}/{po['id']}", f"{PO}/{po['id']}/history"):
        allowed = await api.get(url, headers=viewer.headers)
        assert allowed.status_code == 200, (url, allowed.text)
        refused = await api.get(url, headers=technician.headers)
        assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED", (url, refused.text)
        assert (await api.get(url)).status_code == 401


@pytest.mark.parametrize("role", ["purchase", "store", "qa", "viewer", "engineer"])
async def test_approval_refused_for_roles_that_do_not_approve_pos(role, api, make_user, session_factory):
    buyer, user = await make_user("purchase"), await make_user(role)
    po = await submitted_po(api, buyer, session_factory, "6000")
    refused = await decide(api, user, po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED", refused.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "pending_approval"
    tasks = await open_tasks(session_factory, po["approval_instance_id"], 1)
    assert tasks[0]["status"] == "pending" and tasks[0]["approver_id"] is None


async def test_technician_cannot_even_attempt_an_approval(api, make_user, session_factory):
    buyer, technician = await make_user("purchase"), await make_user("technician")
    po = await submitted_po(api, buyer, session_factory, "6000")
    refused = await decide(api, technician, po["id"])
    assert refused.status_code == 403, refused.text


# --- thresholds (DESIGN.md §3: < 5,000 auto; < 25,000 Head of Operations; from 25,000 + Director) -----

@pytest.mark.parametrize("amount, roles", [("4999.99", []), ("5000", ["head_of_operations"]),
                                           ("24999.99", ["head_of_operations"]),
                                           ("25000", ["head_of_operations", "director"]),
                                           ("150000", ["head_of_operations", "director"])])
async def test_threshold_plans(amount, roles, api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await submitted_po(api, buyer, session_factory, amount)
    assert po["total_amount"] == float(amount)
    instance = approval_instance(session_factory, po["approval_instance_id"])
    assert (instance["reference_type"], instance["reference_id"], instance["reference_number"]) == (
        "purchase_order", po["id"], po["po_number"])
    assert instance["amount"] == Decimal(amount) and instance["requested_by"] == buyer.id
    assert instance["total_steps"] == len(roles)
    if not roles:
        assert po["status"] == "approved" and po["approved_by_id"] is None and po["approved_at"] is not None
        assert instance["status"] == "approved" and instance["completed_at"] is not None
        assert approval_tasks(session_factory, instance["id"]) == []
        approved, submitted = (await history_of(api, buyer, po["id"]))[:2]
        assert (approved["action"], approved["from_status"], approved["to_status"], approved["user_id"]) == (
            "approved", "pending_approval", "approved", None)
        assert "auto-approved" in approved["comments"].lower()
        assert approved["po_total_at_action"] == 4999.99
        assert (submitted["action"], submitted["from_status"], submitted["to_status"]) == (
            "submitted", "draft", "pending_approval")
        return
    assert po["status"] == "pending_approval" and instance["status"] == "pending"
    tasks = await open_tasks(session_factory, instance["id"], 1)
    assert [(t["step_number"], t["approver_role"], t["status"]) for t in tasks] == [(1, roles[0], "pending")]
    assert tasks[0]["due_at"] is not None and not tasks[0]["is_escalated"]


async def test_one_step_by_head_of_operations_at_24999_99(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "24999.99")
    approved = await decide(api, head, po["id"], comments="within budget")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by_id"] == head.id
    tasks = approval_tasks(session_factory, po["approval_instance_id"])
    assert [(t["step_number"], t["status"], t["approver_id"], t["comments"]) for t in tasks] == [
        (1, "approved", head.id, "within budget")]
    instance = await eventually(lambda: (row := approval_instance(session_factory, po["approval_instance_id"]))
                                ["completed_at"] and row)
    assert instance["status"] == "approved"


async def test_two_steps_head_of_operations_then_director(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "25000")
    director_first = await decide(api, director, po["id"], comments="step 1 by the director is fine too")
    assert director_first.status_code == 200, director_first.text  # admin-equivalents may decide any step
    assert director_first.json()["status"] == "pending_approval"
    tasks = await open_tasks(session_factory, po["approval_instance_id"], 2)
    assert [(t["step_number"], t["approver_role"], t["status"]) for t in tasks] == [
        (1, "head_of_operations", "approved"), (2, "director", "pending")]
    assert approval_instance(session_factory, po["approval_instance_id"])["status"] == "in_review"
    head_refused = await decide(api, head, po["id"])
    assert head_refused.status_code == 403 and head_refused.json()["code"] == "ACCESS_DENIED"
    final = await decide(api, director, po["id"], comments="Final approval granted.")
    assert final.status_code == 200 and final.json()["status"] == "approved", final.text
    assert final.json()["approved_by_id"] == director.id
    history = await history_of(api, buyer, po["id"])
    assert [(h["action"], h["from_status"], h["to_status"], h["user_id"]) for h in history[:2]] == [
        ("approved", "pending_approval", "approved", director.id),
        ("approved", "pending_approval", "pending_approval", director.id)]


async def test_admin_may_decide_both_steps(api, make_user, session_factory):
    buyer, admin = await make_user("purchase"), await make_user("admin")
    po = await submitted_po(api, buyer, session_factory, "30000")
    first = await decide(api, admin, po["id"])
    assert first.status_code == 200 and first.json()["status"] == "pending_approval", first.text
    await open_tasks(session_factory, po["approval_instance_id"], 2)
    second = await decide(api, admin, po["id"])
    assert second.status_code == 200 and second.json()["status"] == "approved", second.text
    assert [t["approver_id"] for t in approval_tasks(session_factory, po["approval_instance_id"])] == [admin.id] * 2


async def test_director_rejecting_step_two_sends_the_po_back_to_draft(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "40000")
    assert (await decide(api, head, po["id"])).status_code == 200
    rejected = await decide(api, director, po["id"], "rejected", "Budget exceeded for Q1")
    assert rejected.status_code == 200 and rejected.json()["status"] == "draft", rejected.text
    tasks = approval_tasks(session_factory, po["approval_instance_id"])
    assert [(t["status"], t["approver_id"]) for t in tasks] == [("approved", head.id), ("rejected", director.id)]


# --- rules every step enforces -------------------------------------------------------------------------

async def test_requester_cannot_approve_their_own_request_at_any_step(api, make_user, session_factory):
    director = await make_user("director")
    po = await submitted_po(api, director, session_factory, "30000")
    refused = await decide(api, director, po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "SELF_APPROVAL", refused.text
    tasks = await open_tasks(session_factory, po["approval_instance_id"], 1)
    assert tasks[0]["status"] == "pending"
    # the requester is who submitted: a Head of Operations submitting is refused on their own step
    head, other_head = await make_user("head_of_operations"), await make_user("head_of_operations")
    own = await submitted_po(api, head, session_factory, "6000")
    refused = await decide(api, head, own["id"], "rejected", "not mine to judge")
    assert refused.status_code == 403 and refused.json()["code"] == "SELF_APPROVAL"
    allowed = await decide(api, other_head, own["id"])
    assert allowed.status_code == 200 and allowed.json()["status"] == "approved", allowed.text


async def test_self_approval_allowed_when_the_setting_is_on_at_submit_time(api, make_user, session_factory):
    head = await make_user("head_of_operations")
    settings = get_settings()
    saved = settings.allow_self_approval
    try:
        settings.allow_self_approval = True
        po = await submitted_po(api, head, session_factory, "6000")
    finally:
        settings.allow_self_approval = saved
    approved = await decide(api, head, po["id"])  # the rule was fixed when the request was made
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    assert approved.json()["approved_by_id"] == head.id
    # with the setting off again, a new request is refused
    refused_po = await submitted_po(api, head, session_factory, "6000")
    refused = await decide(api, head, refused_po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "SELF_APPROVAL"


async def test_head_of_operations_role_limit_is_one_hundred_thousand(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "150000")
    refused = await decide(api, head, po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "APPROVAL_LIMIT_EXCEEDED", refused.text
    tasks = await open_tasks(session_factory, po["approval_instance_id"], 1)
    assert tasks[0]["status"] == "pending"
    first = await decide(api, director, po["id"])
    assert first.status_code == 200 and first.json()["status"] == "pending_approval", first.text
    final = await decide(api, director, po["id"])
    assert final.status_code == 200 and final.json()["status"] == "approved", final.text
    # exactly at the limit is within it
    at_limit = await submitted_po(api, buyer, session_factory, "100000")
    assert (await decide(api, head, at_limit["id"])).status_code == 200


async def test_personal_approval_limit_applies(api, make_user, session_factory):
    buyer = await make_user("purchase")
    limited, unlimited = (await make_user("head_of_operations", approval_limit=6000),
                          await make_user("head_of_operations"))
    po = await submitted_po(api, buyer, session_factory, "7000")
    refused = await decide(api, limited, po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "APPROVAL_LIMIT_EXCEEDED", refused.text
    assert "6000" in refused.json()["detail"]
    within = await submitted_po(api, buyer, session_factory, "6000")
    assert (await decide(api, limited, within["id"])).status_code == 200
    assert (await decide(api, unlimited, po["id"])).status_code == 200


async def test_a_decided_step_cannot_be_decided_again(api, make_user, session_factory, temporal_client):
    buyer, head, other_head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                                         await make_user("head_of_operations"), await make_user("director"))
    one_step = await submitted_po(api, buyer, session_factory, "6000")
    assert (await decide(api, head, one_step["id"])).status_code == 200
    again = await decide(api, other_head, one_step["id"])
    assert again.status_code == 409 and "approved" in again.json()["detail"], again.text
    again = await decide(api, head, one_step["id"], "rejected", "changed my mind")
    assert again.status_code == 409, again.text

    two_steps = await submitted_po(api, buyer, session_factory, "30000")
    assert (await decide(api, head, two_steps["id"])).status_code == 200
    await open_tasks(session_factory, two_steps["approval_instance_id"], 2)
    # a decision aimed at step 1 (already decided) is refused by the engine, whoever sends it
    late = Decision(action=ApprovalAction.REJECTED, comments="too late", step_number=1,
                    actor=Actor(id=director.id, role="director"))
    with pytest.raises(AppError) as refused:
        await decide_instance(temporal_client, None, two_steps["approval_instance_id"], late)
    assert (refused.value.code, refused.value.status) == ("ALREADY_DECIDED", 409)
    tasks = approval_tasks(session_factory, two_steps["approval_instance_id"])
    assert [(t["step_number"], t["status"], t["approver_id"]) for t in tasks] == [
        (1, "approved", head.id), (2, "pending", None)]


@pytest.mark.parametrize("action", ["rejected", "returned"])
async def test_rejection_and_return_need_comments(action, api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "6000")
    for body in ({"action": action}, {"action": action, "comments": None}, {"action": action, "comments": ""},
                 {"action": action, "comments": "   "}):
        refused = await api.post(f"{PO}/{po['id']}/approve", json=body, headers=head.headers)
        assert refused.status_code == 422, (body, refused.text)
    unknown = await api.post(f"{PO}/{po['id']}/approve", json={"action": "maybe", "comments": "x"},
                             headers=head.headers)
    assert unknown.status_code == 422
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "pending_approval"
    decided = await decide(api, head, po["id"], action, "with a reason")
    assert decided.status_code == 200 and decided.json()["status"] == "draft", decided.text


async def test_approval_without_comments_is_fine(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "6000")
    approved = await api.post(f"{PO}/{po['id']}/approve", json={"action": "approved"}, headers=head.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text


async def test_deciding_a_po_that_is_not_pending_approval_is_409(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    draft = await draft_po(api, buyer, session_factory, "6000")
    refused = await decide(api, head, draft["id"])
    assert refused.status_code == 409 and "draft" in refused.json()["detail"], refused.text
    assert (await decide(api, head, 987654321)).status_code == 404


async def test_history_records_every_action_with_status_total_and_revision(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "26000")
    assert (await decide(api, head, po["id"], "returned", "Split the delivery")).status_code == 200
    shipping = await api.put(f"{PO}/{po['id']}", json={"shipping_cost": 500}, headers=buyer.headers)
    assert shipping.status_code == 200 and shipping.json()["total_amount"] == 26500
    assert (await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)).status_code == 200
    assert (await decide(api, head, po["id"], comments="ok by ops")).status_code == 200
    assert (await decide(api, director, po["id"], comments="ok by the director")).status_code == 200
    assert (await api.post(f"{PO}/{po['id']}/order", params={"tracking_number": "TRK9"},
                           headers=buyer.headers)).status_code == 200
    assert (await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "Duplicate order"},
                           headers=director.headers)).status_code == 200
    history = await history_of(api, buyer, po["id"])
    rows = [(h["action"], h["from_status"], h["to_status"], h["user_id"], h["po_total_at_action"],
             h["po_revision_at_action"], h["comments"]) for h in reversed(history)]
    assert rows == [
        ("created", None, "draft", buyer.id, 26000, 1, None),
        ("submitted", "draft", "pending_approval", buyer.id, 26000, 1, "Submitted for approval"),
        ("returned", "pending_approval", "draft", head.id, 26000, 1, "Split the delivery"),
        ("submitted", "draft", "pending_approval", buyer.id, 26500, 2, "Submitted for approval"),
        ("approved", "pending_approval", "pending_approval", head.id, 26500, 2, "ok by ops"),
        ("approved", "pending_approval", "approved", director.id, 26500, 2, "ok by the director"),
        ("ordered", "approved", "ordered", buyer.id, 26500, 2, "Tracking number TRK9"),
        ("cancelled", "ordered", "cancelled", director.id, 26500, 2, "Duplicate order"),
    ]
    assert all(h["ip_address"] == CLIENT_IP for h in history)
    times = [z_time(h["created_at"]) for h in history]
    assert times == sorted(times, reverse=True)
    assert (await api.get(f"{PO}/987654321/history", headers=buyer.headers)).status_code == 404


# --- order and cancel ------------------------------------------------------------------------------------

async def test_order_only_from_approved(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    draft = await draft_po(api, buyer, session_factory, "6000")
    pending = await submitted_po(api, buyer, session_factory, "6000")
    for po, status in ((draft, "draft"), (pending, "pending_approval")):
        refused = await api.post(f"{PO}/{po['id']}/order", params={"tracking_number": "T"}, headers=buyer.headers)
        assert refused.status_code == 409 and refused.json()["code"] == "WORKFLOW_VIOLATION", refused.text
        assert status in refused.json()["detail"]
    approved = await submitted_po(api, buyer, session_factory, "100")
    assert (await api.post(f"{PO}/{approved['id']}/order", headers=buyer.headers)).status_code == 200
    twice = await api.post(f"{PO}/{approved['id']}/order", headers=buyer.headers)
    assert twice.status_code == 409 and "ordered" in twice.json()["detail"], twice.text
    cancelled = await submitted_po(api, buyer, session_factory, "100")
    assert (await api.post(f"{PO}/{cancelled['id']}/cancel", headers=head.headers)).status_code == 200
    refused = await api.post(f"{PO}/{cancelled['id']}/order", headers=buyer.headers)
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"], refused.text


@pytest.mark.parametrize("stage", ["draft", "approved", "ordered"])
async def test_cancel_from(stage, api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await (draft_po if stage == "draft" else submitted_po)(api, buyer, session_factory, "300")
    if stage == "ordered":
        assert (await api.post(f"{PO}/{po['id']}/order", headers=buyer.headers)).status_code == 200
    cancelled = await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "not needed"}, headers=head.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    latest = (await history_of(api, buyer, po["id"]))[0]
    assert (latest["action"], latest["from_status"], latest["to_status"]) == ("cancelled", stage, "cancelled")
    again = await api.post(f"{PO}/{po['id']}/cancel", headers=head.headers)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"], again.text
    edit = await api.put(f"{PO}/{po['id']}", json={"notes": "x"}, headers=buyer.headers)
    assert edit.status_code == 409 and "cancelled" in edit.json()["detail"], edit.text


async def test_cancel_refused_once_goods_are_received(api, make_user, session_factory):
    buyer, director = await make_user("purchase"), await make_user("director")
    po = await submitted_po(api, buyer, session_factory, "300")
    assert (await api.post(f"{PO}/{po['id']}/order", headers=buyer.headers)).status_code == 200
    with session_scope(session_factory) as session:  # goods arrived (as a goods receipt would record)
        line = session.get(PurchaseOrderLine, po["line_items"][0]["id"])
        assert line is not None
        line.quantity_received = Decimal("0.5")
    refused = await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "too late"}, headers=director.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "WORKFLOW_VIOLATION", refused.text
    assert "received" in refused.json()["detail"]
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "ordered"


async def test_cancel_during_pending_approval_ends_the_approval(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "30000")
    instance_id = po["approval_instance_id"]
    await open_tasks(session_factory, instance_id, 1)
    cancelled = await api.post(f"{PO}/{po['id']}/cancel", params={"reason": "Project cancelled"},
                               headers=head.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Project cancelled"
    instance = await eventually(lambda: (row := approval_instance(session_factory, instance_id))["completed_at"]
                                and row)
    assert instance["status"] == "cancelled"
    assert [t["status"] for t in approval_tasks(session_factory, instance_id)] == ["cancelled"]
    shown = await api.get(f"/api/v1/workflows/instances/{instance_id}", headers=head.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "cancelled"
    assert [step["status"] for step in shown.json()["approvals"]] == ["cancelled"]
    late = await decide(api, head, po["id"])
    assert late.status_code == 409 and "cancelled" in late.json()["detail"], late.text
    history = await history_of(api, buyer, po["id"])
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history[:2]] == [
        ("cancelled", "pending_approval", "cancelled"), ("submitted", "draft", "pending_approval")]
    # the approval's end does not bring the PO back
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "cancelled"


# --- draft edits ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["pending_approval", "approved"])
async def test_editing_a_po_that_is_not_a_draft_is_409_naming_its_status(stage, api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await submitted_po(api, buyer, session_factory, "6000" if stage == "pending_approval" else "100")
    assert po["status"] == stage
    line_id = po["line_items"][0]["id"]
    _, material_id = supplier_and_material(session_factory)
    attempts = [("PUT", f"{PO}/{po['id']}", {"notes": "late edit"}),
                ("POST", f"{PO}/{po['id']}/items", {"material_id": material_id, "quantity_ordered": 1,
                                                    "unit_price": 5}),
                ("PUT", f"{PO}/{po['id']}/items/{line_id}", {"unit_price": 1}),
                ("DELETE", f"{PO}/{po['id']}/items/{line_id}", None),
                ("DELETE", f"{PO}/{po['id']}", None),
                ("POST", f"{PO}/{po['id']}/submit", None)]
    for method, url, body in attempts:
        refused = await api.request(method, url, json=body, headers=buyer.headers)
        assert refused.status_code == 409, (method, url, refused.text)
        assert refused.json()["code"] == "WORKFLOW_VIOLATION" and stage in refused.json()["detail"], refused.text
    unchanged = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert unchanged["total_amount"] == po["total_amount"] and len(unchanged["line_items"]) == 1


async def test_line_items_add_update_delete_recompute_totals(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (m1, m2) = supplier_and_materials(session_factory, 2)
    created = await api.post(PO, headers=buyer.headers, json={
        "supplier_id": supplier_id, "tax_amount": 10, "shipping_cost": 5.5, "discount_amount": 2.25,
        "line_items": [{"material_id": m1, "quantity_ordered": 3, "unit_price": 33.33, "discount_percent": 12.5}]})
    assert created.status_code == 201, created.text
    po = created.json()
    # 3 × 33.33 × 0.875 = 87.49125 → 87.49
    assert po["line_items"][0]["total_price"] == 87.49 and po["subtotal"] == 87.49
    assert po["total_amount"] == 100.74  # 87.49 + 10 + 5.5 − 2.25
    version = po["version"]

    added = await api.post(f"{PO}/{po['id']}/items", headers=buyer.headers, json={
        "material_id": m2, "quantity_ordered": 1, "unit_price": 10.05, "discount_percent": 50})
    assert added.status_code == 201, added.text
    after_add = added.json()
    assert [line["line_number"] for line in after_add["line_items"]] == [1, 2]
    assert after_add["line_items"][1]["total_price"] == 5.03  # 5.025 rounds half up
    assert (after_add["subtotal"], after_add["total_amount"]) == (92.52, 105.77)
    assert after_add["version"] == version + 1

    line_id = after_add["line_items"][0]["id"]
    updated = await api.put(f"{PO}/{po['id']}/items/{line_id}", headers=buyer.headers,
                            json={"quantity_ordered": 10, "discount_percent": 0})
    assert updated.status_code == 200, updated.text
    after_update = updated.json()
    first_line = after_update["line_items"][0]
    assert (first_line["total_price"], first_line["unit_price"]) == (333.3, 33.33)
    assert (after_update["subtotal"], after_update["total_amount"]) == (338.33, 351.58)

    deleted = await api.delete(f"{PO}/{po['id']}/items/{line_id}", headers=buyer.headers)
    assert deleted.status_code == 200, deleted.text
    after_delete = deleted.json()
    assert [line["line_number"] for line in after_delete["line_items"]] == [2]
    assert (after_delete["subtotal"], after_delete["total_amount"]) == (5.03, 18.28)

    header = await api.put(f"{PO}/{po['id']}", headers=buyer.headers, json={"tax_amount": 0, "discount_amount": 0})
    assert header.status_code == 200 and header.json()["total_amount"] == 10.53, header.text
    with session_scope(session_factory) as session:  # what is stored agrees with what is answered
        stored = session.get(PurchaseOrder, po["id"])
        assert stored is not None and (stored.subtotal, stored.total_amount) == (Decimal("5.03"), Decimal("10.53"))

    missing = await api.put(f"{PO}/{po['id']}/items/{line_id}", json={"unit_price": 1}, headers=buyer.headers)
    assert missing.status_code == 404, missing.text
    for bad in ({"material_id": m1, "quantity_ordered": 0, "unit_price": 1},
                {"material_id": m1, "quantity_ordered": 1, "unit_price": -1},
                {"material_id": m1, "quantity_ordered": 1, "unit_price": 1, "discount_percent": 101},
                {"material_id": m1, "quantity_ordered": 1, "unit_price": 1.005}):
        refused = await api.post(f"{PO}/{po['id']}/items", json=bad, headers=buyer.headers)
        assert refused.status_code == 422, (bad, refused.text)
    unknown = await api.post(f"{PO}/{po['id']}/items", json={"material_id": 987654321, "quantity_ordered": 1,
                                                             "unit_price": 1}, headers=buyer.headers)
    assert unknown.status_code == 404, unknown.text


async def test_stale_versions_are_refused(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "6000")
    version = po["version"]
    edited = await api.put(f"{PO}/{po['id']}", json={"notes": "first", "version": version}, headers=buyer.headers)
    assert edited.status_code == 200 and edited.json()["version"] == version + 1, edited.text
    stale = await api.put(f"{PO}/{po['id']}", json={"notes": "second", "version": version}, headers=buyer.headers)
    assert stale.status_code == 409 and stale.json()["code"] == "VERSION_CONFLICT", stale.text
    stale_submit = await api.post(f"{PO}/{po['id']}/submit", json={"version": version}, headers=buyer.headers)
    assert stale_submit.status_code == 409 and stale_submit.json()["code"] == "VERSION_CONFLICT", stale_submit.text
    current = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert (current["status"], current["notes"], current["approval_instance_id"]) == ("draft", "first", None)
    submitted = await api.post(f"{PO}/{po['id']}/submit", json={"version": version + 1}, headers=buyer.headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending_approval", submitted.text


async def test_a_po_without_lines_cannot_be_submitted(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, _ = supplier_and_material(session_factory)
    created = await api.post(PO, json={"supplier_id": supplier_id}, headers=buyer.headers)
    assert created.status_code == 201 and created.json()["total_amount"] == 0, created.text
    refused = await api.post(f"{PO}/{created.json()['id']}/submit", headers=buyer.headers)
    assert refused.status_code == 422, refused.text
    assert (await api.get(f"{PO}/{created.json()['id']}", headers=buyer.headers)).json()["status"] == "draft"


# --- escalation (installs its own policy; keep it serial) ------------------------------------------------

@contextmanager
def fast_po_policy(session_factory: Any, escalation_user_id: int | None = None) -> Iterator[int]:
    """A purchase-order template whose one step (Head of Operations, from 5,000) is due after 2 seconds. As
    the newest active template it replaces the default policy until it is deactivated on the way out."""
    with session_scope(session_factory) as session:
        template = ApprovalTemplate(name=unique("Fast PO policy"), entity_type="purchase_order",
                                    auto_approve_below=Decimal(5000), sla_seconds=2, is_active=True)
        session.add(template)
        session.flush()
        session.add(ApprovalTemplateStep(template_id=template.id, step_number=1, name="Head of Operations review",
                                         approver_role="head_of_operations", min_amount=Decimal(5000),
                                         sla_seconds=2, escalation_user_id=escalation_user_id))
        template_id = template.id
    try:
        yield template_id
    finally:
        with session_scope(session_factory) as session:
            installed = session.get(ApprovalTemplate, template_id)
            assert installed is not None
            installed.is_active = False


def escalation_of(session_factory: Any, instance_id: int, recipient_id: int) -> tuple[dict[str, Any], int] | None:
    """The instance's escalated task and the escalation notice to `recipient_id`, once both exist."""
    tasks = approval_tasks(session_factory, instance_id)
    if not tasks or not tasks[0]["is_escalated"] or tasks[0]["escalated_at"] is None:
        return None
    with session_scope(session_factory) as session:
        notice = session.scalars(select(Notification.id).where(
            Notification.kind == "escalation", Notification.recipient_user_id == recipient_id,
            Notification.reference_type == "approval_instance", Notification.reference_id == instance_id)).first()
    return (tasks[0], notice) if notice else None


async def test_overdue_step_is_escalated_to_the_directors_who_may_decide_it(api, make_user, session_factory):
    buyer, director = await make_user("purchase"), await make_user("director")
    with fast_po_policy(session_factory) as template_id:
        po = await submitted_po(api, buyer, session_factory, "6000")
        assert po["status"] == "pending_approval"
        instance_id = po["approval_instance_id"]
        assert approval_instance(session_factory, instance_id)["template_id"] == template_id
        (fresh,) = await open_tasks(session_factory, instance_id, 1)
        assert not fresh["is_escalated"] and fresh["escalated_at"] is None

        task, _ = await eventually(lambda: escalation_of(session_factory, instance_id, director.id),
                                   timeout=20, interval=0.2)
        assert task["status"] == "pending" and task["approver_role"] == "head_of_operations"
        assert task["escalated_to_id"] is None  # no escalation user: the Directors
        assert task["escalated_at"] >= task["due_at"] - timedelta(milliseconds=200)  # not before its SLA
        decided = await decide(api, director, po["id"], comments="Escalated; approved by the Director")
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "approved" and decided.json()["approved_by_id"] == director.id
        (task,) = approval_tasks(session_factory, instance_id)
        assert (task["status"], task["approver_id"], task["is_escalated"]) == ("approved", director.id, True)
    # the default policy is back: 6,000 is one Head of Operations step with the long default SLA
    after = await submitted_po(api, buyer, session_factory, "6000")
    assert approval_instance(session_factory, after["approval_instance_id"])["template_id"] != template_id
    (task,) = await open_tasks(session_factory, after["approval_instance_id"], 1)
    assert task["due_at"] - task["created_at"] > timedelta(hours=1)


async def test_an_escalation_user_may_decide_only_once_the_step_is_escalated(api, make_user, session_factory):
    buyer, deputy = await make_user("purchase"), await make_user("purchase")
    with fast_po_policy(session_factory, escalation_user_id=deputy.id):
        po = await submitted_po(api, buyer, session_factory, "6000")
        instance_id = po["approval_instance_id"]
        await open_tasks(session_factory, instance_id, 1)
        early = await decide(api, deputy, po["id"])
        assert early.status_code == 403 and early.json()["code"] == "ACCESS_DENIED", early.text
        task, _ = await eventually(lambda: escalation_of(session_factory, instance_id, deputy.id),
                                   timeout=20, interval=0.2)
        assert task["escalated_to_id"] == deputy.id
        decided = await decide(api, deputy, po["id"], "returned", "Escalated to me: please add a second quote")
        assert decided.status_code == 200 and decided.json()["status"] == "draft", decided.text
        (task,) = approval_tasks(session_factory, instance_id)
        assert (task["status"], task["approver_id"]) == ("returned", deputy.id)
