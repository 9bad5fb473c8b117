"""`/api/v1/workflows` (aerospace section 13): templates, instances, decisions, a PO's approval status, the
approver's inbox, escalation, bulk decisions, audit trails. Every test uses its own users, POs and
entity types (a template for `purchase_order` would replace the seeded policy for the whole suite)."""

import asyncio
import time
from typing import Any

from sqlalchemy import select

from models.approvals import ApprovalTask
from tests.conftest import unique
from tests.procurement.helpers import PO, draft_po

W = "/api/v1/workflows"
TASK_KEYS = {"id", "workflow_instance_id", "workflow_step_id", "step_number", "approver_id", "status", "decision_at",
             "comments", "is_escalated", "created_at", "updated_at"}
INSTANCE_KEYS = {"id", "template_id", "reference_type", "reference_id", "reference_number", "status", "current_step",
                 "amount", "currency", "requested_by", "requested_at", "due_date", "priority", "extra_data", "notes"}


async def wf_submitted_po(api, buyer, session_factory, amount: str, notes: str = "Submitted", **fields) -> tuple:
    """A PO submitted through `/workflows/po/{id}/submit`: (the PO as created, its approval instance)."""
    po = await draft_po(api, buyer, session_factory, amount, **fields)
    response = await api.post(f"{W}/po/{po['id']}/submit", json={"notes": notes}, headers=buyer.headers)
    assert response.status_code == 200, response.text
    return po, await opened(api, buyer, response.json())


async def opened(api, user, instance: dict) -> dict:
    """The instance once its approval workflow has opened step 1 (its task row: what inboxes read); the
    workflow opens it just after the create or submit answers."""
    if instance["status"] == "pending":
        async def has_task() -> bool:
            detail = (await api.get(f"{W}/instances/{instance['id']}", headers=user.headers)).json()
            return bool(detail["approvals"])

        await poll(has_task, f"step 1 of approval {instance['id']}")
    return instance


async def approve(api, user, instance_id: int, action: str = "approved", comments: str | None = "ok"):
    return await api.post(f"{W}/instances/{instance_id}/approve", json={"action": action, "comments": comments},
                          headers=user.headers)


async def make_template(api, director, steps: list[dict], entity_type: str | None = None, **fields) -> dict:
    body = {"name": unique("Template"), "entity_type": entity_type or unique("capex"), "steps": steps, **fields}
    response = await api.post(f"{W}/templates", json=body, headers=director.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def make_instance(api, user, entity_type: str, amount: float, reference_id: int | None = None,
                        **fields) -> dict:
    body = {"reference_type": entity_type, "reference_id": reference_id or int(time.time_ns() % 10**9),
            "amount": amount, **fields}
    response = await api.post(f"{W}/instances", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return await opened(api, user, response.json())


def head_step(**more: Any) -> dict:
    return {"step_number": 1, "name": "Operations review", "approver_role": "head_of_operations", **more}


async def inbox(api, user) -> dict:
    response = await api.get(f"{W}/my-approvals", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def instance_ids(box: dict) -> set[int]:
    return {a["instance_id"] for a in box["workflow_approvals"]}


async def poll(check, what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- the contract's examples -----------------------------------------------------------------------------

async def test_submit_po_for_approval_as_the_contract_shows(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po, instance = await wf_submitted_po(api, buyer, session_factory, "45000",
                                         notes="Urgent material required for Project ABC")
    assert INSTANCE_KEYS <= set(instance)
    assert instance["template_id"] == 1 and instance["reference_type"] == "purchase_order"
    assert instance["reference_id"] == po["id"] and instance["reference_number"] == po["po_number"]
    assert instance["status"] == "pending" and instance["current_step"] == 1 and instance["total_steps"] == 2
    assert instance["amount"] == 45000.0 and instance["currency"] == "USD" and instance["priority"] == "high"
    assert instance["requested_by"] == buyer.id and instance["requested_at"].endswith("Z")
    assert instance["due_date"] > instance["requested_at"]
    assert instance["extra_data"] == {"supplier_name": "Aerospace Metals Inc.", "po_date": po["po_date"],
                                      "line_item_count": 1}
    assert instance["notes"] == "Urgent material required for Project ABC"
    current = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert current["status"] == "pending_approval" and current["approval_instance_id"] == instance["id"]
    again = await api.post(f"{W}/po/{po['id']}/submit", json={"notes": "again"}, headers=buyer.headers)
    assert again.status_code == 409 and again.json()["code"] == "WORKFLOW_VIOLATION"


async def test_submitting_a_po_needs_the_purchase_permission(api, make_user, session_factory):
    buyer, qa = await make_user("purchase"), await make_user("qa")
    po = await draft_po(api, buyer, session_factory, "6000")
    refused = await api.post(f"{W}/po/{po['id']}/submit", json={"notes": "x"}, headers=qa.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"


async def test_below_five_thousand_the_instance_is_approved_at_once(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po, instance = await wf_submitted_po(api, buyer, session_factory, "4999.99")
    assert instance["status"] == "approved" and instance["total_steps"] == 0
    status = (await api.get(f"{W}/po/{po['id']}/approval-status", headers=buyer.headers)).json()
    assert status["po_status"] == "approved" and status["workflow"]["approvals"] == []


async def test_two_step_approval_then_approval_status_and_audit_trail(api, make_user, session_factory):
    buyer = await make_user("purchase", full_name="Mike Purchase")
    head = await make_user("head_of_operations", full_name="John Operations")
    director = await make_user("director", full_name="Jane Director")
    po, instance = await wf_submitted_po(api, buyer, session_factory, "45000",
                                         notes="Urgent material required")
    first = await approve(api, head, instance["id"], "approved", "Approved. Priority procurement authorized.")
    assert first.status_code == 200, first.text
    task = first.json()
    assert set(task) == TASK_KEYS
    assert task["workflow_instance_id"] == instance["id"] and task["step_number"] == 1
    assert task["workflow_step_id"] is not None and task["approver_id"] == head.id
    assert task["status"] == "approved" and task["comments"] == "Approved. Priority procurement authorized."
    assert task["is_escalated"] is False and task["decision_at"].endswith("Z")
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "pending_approval"

    final = await approve(api, director, instance["id"], "approved", "Final approval granted.")
    assert final.status_code == 200, final.text
    assert final.json()["step_number"] == 2 and final.json()["approver_id"] == director.id
    # the PO shows its outcome as soon as the decision answers
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "approved"

    response = await api.get(f"{W}/po/{po['id']}/approval-status", headers=buyer.headers)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["po_number"] == po["po_number"] and status["po_status"] == "approved"
    assert status["total_amount"] == 45000.0 and status["currency"] == "USD"
    workflow = status["workflow"]
    assert workflow["id"] == instance["id"] and workflow["status"] == "approved" and workflow["current_step"] == 2
    assert [(a["step"], a["status"], a["approver"], a["comments"]) for a in workflow["approvals"]] == [
        (1, "approved", "John Operations", "Approved. Priority procurement authorized."),
        (2, "approved", "Jane Director", "Final approval granted.")]
    assert all(a["decision_at"] for a in workflow["approvals"])
    history = status["history"]
    assert [(h["action"], h["user"], h["from_status"], h["to_status"]) for h in history[:3]] == [
        ("approved", "Jane Director", "pending_approval", "approved"),
        ("approved", "John Operations", "pending_approval", "pending_approval"),
        ("submitted", "Mike Purchase", "draft", "pending_approval")]
    assert history[0]["comments"] == "Final approval granted." and history[2]["comments"] == "Urgent material required"
    assert [h["timestamp"] for h in history] == sorted((h["timestamp"] for h in history), reverse=True)

    trail = await api.get(f"{W}/audit-trail/purchase_order/{po['id']}", params={"limit": 20}, headers=buyer.headers)
    assert trail.status_code == 200, trail.text
    rows = trail.json()
    assert {"id", "action", "user", "description", "old_values", "new_values", "timestamp",
            "ip_address"} <= set(rows[0])
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    steps = [r for r in rows if r["action"] == "APPROVAL_STEP_APPROVED"]
    assert [(r["user"], r["description"].split(" (")[0]) for r in steps] == [
        ("Jane Director", "Approved workflow step 2"), ("John Operations", "Approved workflow step 1")]
    assert steps[0]["old_values"] == {"status": "pending"}
    assert steps[0]["new_values"]["status"] == "approved"
    assert steps[0]["new_values"]["comments"] == "Final approval granted."
    submitted = next(r for r in rows if r["action"] == "PO_SUBMITTED")
    assert submitted["user"] == "Mike Purchase" and po["po_number"] in submitted["description"]
    assert submitted["new_values"] == {"status": "pending_approval", "approval_instance_id": instance["id"]}
    actions = [r["action"] for r in rows]
    assert actions.index("APPROVAL_STEP_APPROVED") < actions.index("PO_SUBMITTED") < actions.index("PO_CREATED")
    limited = await api.get(f"{W}/audit-trail/purchase_order/{po['id']}", params={"limit": 2},
                            headers=buyer.headers)
    assert [r["id"] for r in limited.json()] == [r["id"] for r in rows[:2]]


async def test_rejection_as_the_contract_shows_sends_the_po_back_to_draft(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po, instance = await wf_submitted_po(api, buyer, session_factory, "7000")
    missing = await approve(api, head, instance["id"], "rejected", None)
    assert missing.status_code == 422 and missing.json()["code"] == "VALIDATION_ERROR"
    returned_blank = await approve(api, head, instance["id"], "returned", "   ")
    assert returned_blank.status_code == 422
    rejected = await approve(api, head, instance["id"], "rejected", "Budget exceeded for Q1. Please revise quantities.")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["comments"] == "Budget exceeded for Q1. Please revise quantities."
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "draft"
    detail = (await api.get(f"{W}/instances/{instance['id']}", headers=buyer.headers)).json()
    assert detail["status"] == "rejected" and [a["status"] for a in detail["approvals"]] == ["rejected"]
    late = await approve(api, head, instance["id"])
    assert late.status_code == 409 and late.json()["code"] == "ALREADY_DECIDED"


async def test_deciding_is_based_on_the_step(api, make_user, session_factory):
    buyer, head, store = await make_user("purchase"), await make_user("head_of_operations"), await make_user("store")
    _, instance = await wf_submitted_po(api, buyer, session_factory, "30000")
    not_theirs = await approve(api, store, instance["id"])
    assert not_theirs.status_code == 403 and not_theirs.json()["code"] == "ACCESS_DENIED"
    own = await approve(api, buyer, instance["id"])
    assert own.status_code == 403 and own.json()["code"] == "SELF_APPROVAL"
    assert (await approve(api, head, instance["id"])).status_code == 200
    step_two = await approve(api, head, instance["id"])  # step 2 is the Director's
    assert step_two.status_code == 403
    assert (await approve(api, head, 987654321)).status_code == 404


# --- templates ---------------------------------------------------------------------------------------------

async def test_template_writes_are_for_directors_and_admins_reads_for_any_role(api, make_user, admin):
    director, head, technician = (await make_user("director"), await make_user("head_of_operations"),
                                  await make_user("technician"))
    body = {"name": unique("Capex"), "entity_type": unique("capex"), "steps": [head_step()]}
    refused = await api.post(f"{W}/templates", json=body, headers=head.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"
    created = await api.post(f"{W}/templates", json=body, headers=director.headers)
    assert created.status_code == 201, created.text
    template = created.json()
    by_admin = await make_template(api, admin, [head_step()])
    assert by_admin["created_by"] == admin.id
    put = await api.put(f"{W}/templates/{template['id']}", json={"name": "x"}, headers=head.headers)
    assert put.status_code == 403
    add = await api.post(f"{W}/templates/{template['id']}/steps", json={"name": "x", "approver_role": "director"},
                         headers=technician.headers)
    assert add.status_code == 403
    listed = await api.get(f"{W}/templates", params={"entity_type": body["entity_type"]},
                           headers=technician.headers)
    assert listed.status_code == 200 and [t["id"] for t in listed.json()] == [template["id"]]
    default = await api.get(f"{W}/templates/1", headers=technician.headers)
    assert default.status_code == 200, default.text
    policy = default.json()
    assert policy["entity_type"] == "purchase_order" and policy["auto_approve_below"] == 5000.0
    assert [(s["step_number"], s["approver_role"], s["min_amount"]) for s in policy["steps"]] == [
        (1, "head_of_operations", 5000.0), (2, "director", 25000.0)]
    assert (await api.get(f"{W}/templates/987654321", headers=technician.headers)).status_code == 404


async def test_template_validation(api, make_user):
    director = await make_user("director")

    async def post(**fields) -> Any:
        body = {"name": unique("T"), "entity_type": unique("capex"), **fields}
        return await api.post(f"{W}/templates", json=body, headers=director.headers)

    unknown_role = await post(steps=[{"name": "x", "approver_role": "wizard"}])
    assert unknown_role.status_code == 422 and "wizard" in unknown_role.text
    no_approver = await post(steps=[{"name": "x"}])
    assert no_approver.status_code == 422
    twice = await post(steps=[head_step(), head_step()])
    assert twice.status_code == 422 and "twice" in twice.text
    unknown_user = await post(steps=[{"name": "x", "approver_user_id": 987654321}])
    assert unknown_user.status_code == 404 and unknown_user.json()["code"] == "NOT_FOUND"
    spelled = await post(steps=[{"name": "x", "approver_role": "HEAD_OF_OPERATIONS"},
                                {"name": "y", "approver_role": "Director", "min_amount": 1000}])
    assert spelled.status_code == 201, spelled.text
    assert [(s["step_number"], s["approver_role"]) for s in spelled.json()["steps"]] == [
        (1, "head_of_operations"), (2, "director")]


async def test_template_update_and_added_steps(api, make_user):
    director = await make_user("director")
    template = await make_template(api, director, [head_step()], description="first", sla_seconds=3600)
    updated = await api.put(f"{W}/templates/{template['id']}",
                            json={"name": "Capex approval", "description": None, "auto_approve_below": 1000,
                                  "steps": [head_step(name="Ops"), {"name": "Director", "approver_role": "director",
                                                                    "min_amount": 50000, "sla_seconds": 600}]},
                            headers=director.headers)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["name"] == "Capex approval" and body["description"] is None and body["auto_approve_below"] == 1000.0
    assert body["sla_seconds"] == 3600 and body["entity_type"] == template["entity_type"]
    assert [(s["step_number"], s["name"], s["min_amount"]) for s in body["steps"]] == [(1, "Ops", 0.0),
                                                                                       (2, "Director", 50000.0)]
    assert body["steps"][0]["id"] == template["steps"][0]["id"]  # kept numbers are updated in place
    added = await api.post(f"{W}/templates/{template['id']}/steps",
                           json={"name": "CFO", "approver_role": "admin", "min_amount": 100000},
                           headers=director.headers)
    assert added.status_code == 201, added.text
    assert added.json()["step_number"] == 3 and added.json()["template_id"] == template["id"]
    duplicate = await api.post(f"{W}/templates/{template['id']}/steps",
                               json={"step_number": 3, "name": "again", "approver_role": "admin"},
                               headers=director.headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "DUPLICATE_ENTRY"
    shrunk = await api.put(f"{W}/templates/{template['id']}", json={"steps": [head_step()]}, headers=director.headers)
    assert shrunk.status_code == 200 and len(shrunk.json()["steps"]) == 1
    assert (await api.put(f"{W}/templates/987654321", json={"name": "x"}, headers=director.headers)).status_code == 404


async def test_the_newest_active_template_of_an_entity_type_is_the_one_requests_use(api, make_user):
    director, buyer = await make_user("director"), await make_user("purchase")
    entity = unique("capex")
    lenient = await make_template(api, director, [head_step()], entity_type=entity, auto_approve_below=100)
    auto = await make_instance(api, buyer, entity, 50)
    assert auto["status"] == "approved" and auto["template_id"] == lenient["id"] and auto["total_steps"] == 0
    strict = await make_template(api, director, [head_step()], entity_type=entity)
    listed = {t["id"]: t["is_effective"] for t in
              (await api.get(f"{W}/templates", params={"entity_type": entity}, headers=buyer.headers)).json()}
    assert listed == {lenient["id"]: False, strict["id"]: True}
    pending = await make_instance(api, buyer, entity, 50)
    assert pending["status"] == "pending" and pending["template_id"] == strict["id"] and pending["total_steps"] == 1
    off = await api.put(f"{W}/templates/{strict['id']}", json={"is_active": False}, headers=director.headers)
    assert off.status_code == 200 and off.json()["is_effective"] is False
    again = await make_instance(api, buyer, entity, 50)
    assert again["template_id"] == lenient["id"] and again["status"] == "approved"
    used = await api.put(f"{W}/templates/{strict['id']}", json={"steps": []}, headers=director.headers)
    assert used.status_code == 409  # its step is referenced by the pending request's task


# --- instances ---------------------------------------------------------------------------------------------

async def test_instances_create_list_detail(api, make_user):
    director, buyer, viewer = await make_user("director"), await make_user("purchase"), await make_user("viewer")
    entity = unique("capex")
    template = await make_template(api, director, [head_step(), {"name": "Director", "approver_role": "director",
                                                                 "min_amount": 10000}], entity_type=entity)
    created = await make_instance(api, buyer, entity, 12500.5, reference_id=41, reference_number="CAPEX-41",
                                  currency="EUR", priority="high", notes="new press", extra_data={"site": "A"})
    assert INSTANCE_KEYS <= set(created)
    assert created["template_id"] == template["id"] and created["status"] == "pending"
    assert created["amount"] == 12500.5 and created["currency"] == "EUR" and created["priority"] == "high"
    assert created["reference_number"] == "CAPEX-41" and created["extra_data"] == {"site": "A"}
    assert created["total_steps"] == 2 and created["requested_by"] == buyer.id
    other = await make_instance(api, buyer, entity, 20, reference_id=42)
    assert other["reference_number"] == f"{entity}-42"
    duplicate = await api.post(f"{W}/instances", json={"reference_type": entity, "reference_id": 41, "amount": 1},
                               headers=buyer.headers)
    assert duplicate.status_code == 409 and duplicate.json()["details"]["instance_id"] == created["id"]
    po = await api.post(f"{W}/instances", json={"reference_type": "purchase_order", "reference_id": 1, "amount": 1},
                        headers=buyer.headers)
    assert po.status_code == 409 and po.json()["code"] == "WORKFLOW_VIOLATION"
    bad = await api.post(f"{W}/instances", json={"reference_type": entity, "reference_id": 43, "amount": -1},
                         headers=buyer.headers)
    assert bad.status_code == 422

    page = await api.get(f"{W}/instances", params={"reference_type": entity, "page_size": 1}, headers=viewer.headers)
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 2 and page.json()["total_pages"] == 2 and page.json()["page_size"] == 1
    assert page.json()["items"][0]["id"] == other["id"]  # newest first
    filtered = await api.get(f"{W}/instances", params={"reference_type": entity, "reference_id": 41,
                                                       "status": "pending", "requested_by": buyer.id},
                             headers=viewer.headers)
    assert [i["id"] for i in filtered.json()["items"]] == [created["id"]]
    response = await api.get(f"{W}/instances/{created['id']}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["id"] == created["id"]
    assert [(a["step_number"], a["status"], a["approver_role"]) for a in detail["approvals"]] == [
        (1, "pending", "head_of_operations")]
    assert (await api.get(f"{W}/instances/987654321", headers=viewer.headers)).status_code == 404


async def test_a_standalone_two_step_request_is_approved_step_by_step(api, make_user):
    director, buyer, head = await make_user("director"), await make_user("purchase"), \
        await make_user("head_of_operations")
    entity = unique("capex")
    await make_template(api, director, [head_step(), {"name": "Director", "approver_role": "director"}],
                        entity_type=entity)
    instance = await make_instance(api, buyer, entity, 9000)
    first = await approve(api, head, instance["id"], comments="fine")
    assert first.status_code == 200 and first.json()["step_number"] == 1
    middle = (await api.get(f"{W}/instances/{instance['id']}", headers=buyer.headers)).json()
    assert middle["status"] == "in_review" and middle["current_step"] == 2
    final = await approve(api, director, instance["id"], "returned", "Needs a second quote")
    assert final.status_code == 200 and final.json()["status"] == "returned"
    done = (await api.get(f"{W}/instances/{instance['id']}", headers=buyer.headers)).json()
    assert done["status"] == "returned" and done["completed_at"] is not None


async def test_cancel_by_the_requester_or_an_admin_only(api, make_user, admin):
    director, buyer, head, other_buyer = (await make_user("director"), await make_user("purchase"),
                                          await make_user("head_of_operations"), await make_user("purchase"))
    entity = unique("capex")
    await make_template(api, director, [head_step()], entity_type=entity)
    mine = await make_instance(api, buyer, entity, 100)
    refused = await api.post(f"{W}/instances/{mine['id']}/cancel", headers=other_buyer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"
    refused_approver = await api.post(f"{W}/instances/{mine['id']}/cancel", headers=head.headers)
    assert refused_approver.status_code == 403
    cancelled = await api.post(f"{W}/instances/{mine['id']}/cancel", json={"reason": "no longer needed"},
                               headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    detail = (await api.get(f"{W}/instances/{mine['id']}", headers=buyer.headers)).json()
    assert [a["status"] for a in detail["approvals"]] == ["cancelled"]
    again = await api.post(f"{W}/instances/{mine['id']}/cancel", headers=buyer.headers)
    assert again.status_code == 409
    decided_late = await approve(api, head, mine["id"])
    assert decided_late.status_code == 409

    theirs = await make_instance(api, other_buyer, entity, 100)
    by_admin = await api.post(f"{W}/instances/{theirs['id']}/cancel", headers=admin.headers)
    assert by_admin.status_code == 200 and by_admin.json()["status"] == "cancelled"
    trail = (await api.get(f"{W}/audit-trail/approval_instance/{theirs['id']}", headers=other_buyer.headers)).json()
    assert {(r["action"], r["user_id"]) for r in trail[:2]} == {("APPROVAL_CANCELLED", admin.id),
                                                                 ("APPROVAL_CANCEL_REQUESTED", admin.id)}


async def test_cancelling_a_po_approval_sends_the_po_back_to_draft(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po, instance = await wf_submitted_po(api, buyer, session_factory, "8000")
    cancelled = await api.post(f"{W}/instances/{instance['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "draft"
    status = (await api.get(f"{W}/po/{po['id']}/approval-status", headers=buyer.headers)).json()
    assert status["po_status"] == "draft" and status["workflow"]["status"] == "cancelled"
    assert status["history"][0]["action"] == "cancelled"


async def test_a_cancellation_is_attributed_to_whoever_cancelled(api, make_user):
    director, buyer, head = await make_user("director"), await make_user("purchase"), \
        await make_user("head_of_operations")
    entity = unique("capex")
    await make_template(api, director, [head_step(), {"name": "Director", "approver_role": "director"}],
                        entity_type=entity)
    instance = await make_instance(api, buyer, entity, 100)
    assert (await approve(api, head, instance["id"])).status_code == 200
    cancelled = await api.post(f"{W}/instances/{instance['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    trail = (await api.get(f"{W}/audit-trail/approval_instance/{instance['id']}", headers=buyer.headers)).json()
    outcome = next(r for r in trail if r["action"] == "APPROVAL_CANCELLED")
    assert outcome["user_id"] in (buyer.id, None)  # today: head.id, who approved step 1 and never cancelled


# --- inbox -------------------------------------------------------------------------------------------------

def _receipt(po: dict) -> dict:
    line = po["line_items"][0]
    return {"purchase_order_id": po["id"], "receipt_date": "2026-02-10", "coc_received": True,
            "line_items": [{"po_line_item_id": line["id"], "quantity_received": 1, "unit_of_measure": "kg",
                            "lot_number": unique("LOT")}]}


async def test_my_approvals_for_head_of_operations_director_and_purchase(api, make_user, session_factory):
    buyer, head, director, store, qa = (await make_user("purchase"), await make_user("head_of_operations"),
                                        await make_user("director"), await make_user("store"), await make_user("qa"))
    mid_po, mid = await wf_submitted_po(api, buyer, session_factory, "30000")      # head, then director
    big_po, big = await wf_submitted_po(api, buyer, session_factory, "150000")     # above the head's limit
    own_po, own = await wf_submitted_po(api, head, session_factory, "9000")        # the head's own request
    # a goods receipt waiting for inspection
    inspected = await draft_po(api, buyer, session_factory, "1000", requires_inspection=True)
    submitted = await api.post(f"{PO}/{inspected['id']}/submit", headers=buyer.headers)
    assert submitted.json()["status"] == "approved", submitted.text
    grn = await api.post(f"{PO}/{inspected['id']}/receive", json=_receipt(submitted.json()), headers=store.headers)
    assert grn.status_code == 201 and grn.json()["status"] == "pending_inspection", grn.text

    head_box = await inbox(api, head)
    assert mid["id"] in instance_ids(head_box)
    assert big["id"] not in instance_ids(head_box) and own["id"] not in instance_ids(head_box)
    item = next(a for a in head_box["workflow_approvals"] if a["instance_id"] == mid["id"])
    assert item["reference_type"] == "purchase_order" and item["reference_number"] == mid_po["po_number"]
    assert item["amount"] == 30000.0 and item["currency"] == "USD" and item["priority"] == "high"
    assert item["step_number"] == 1 and item["is_escalated"] is False and item["due_at"] and item["requested_at"]
    assert item["approval_id"] > 0
    pos = {p["id"]: p for p in head_box["pending_pos"]}
    assert mid_po["id"] in pos and big_po["id"] not in pos and own_po["id"] not in pos
    assert pos[mid_po["id"]]["po_number"] == mid_po["po_number"] and pos[mid_po["id"]]["total_amount"] == 30000.0
    assert grn.json()["id"] in {g["id"] for g in head_box["pending_inspections"]}  # heads hold po.inspect
    assert head_box["total_pending"] == (len(head_box["workflow_approvals"]) + len(head_box["pending_pos"])
                                         + len(head_box["pending_inspections"]))

    director_box = await inbox(api, director)
    assert {mid["id"], big["id"], own["id"]} <= instance_ids(director_box)

    buyer_box = await inbox(api, buyer)
    assert not {mid["id"], big["id"], own["id"]} & instance_ids(buyer_box)
    assert buyer_box["pending_inspections"] == []  # purchase does not inspect
    qa_box = await inbox(api, qa)
    assert grn.json()["id"] in {g["id"] for g in qa_box["pending_inspections"]}
    receipt_row = next(g for g in qa_box["pending_inspections"] if g["id"] == grn.json()["id"])
    assert receipt_row["purchase_order_id"] == inspected["id"] and receipt_row["grn_number"].startswith("GRN-")

    # the head decides step 1: it leaves their inbox; step 2 is the Director's
    assert (await approve(api, head, mid["id"])).status_code == 200
    assert mid["id"] not in instance_ids(await inbox(api, head))
    step_two = next(a for a in (await inbox(api, director))["workflow_approvals"] if a["instance_id"] == mid["id"])
    assert step_two["step_number"] == 2

    # a purchase approver (limit 25,000) sees the steps of their role within their limit
    purchase_approver = await make_user("purchase")
    entity = unique("supplier-approval")
    await make_template(api, director, [{"name": "Purchasing", "approver_role": "purchase"}], entity_type=entity)
    small = await make_instance(api, head, entity, 20000)
    large = await make_instance(api, head, entity, 30000)
    box = instance_ids(await inbox(api, purchase_approver))
    assert small["id"] in box and large["id"] not in box
    limited = await make_user("purchase", approval_limit=10000)  # a personal limit below the role's
    assert small["id"] not in instance_ids(await inbox(api, limited))


async def test_an_escalated_step_reaches_its_escalation_user(api, make_user, session_factory):
    director, buyer, head, qa = (await make_user("director"), await make_user("purchase"),
                                 await make_user("head_of_operations"), await make_user("qa"))
    entity = unique("capex")
    await make_template(api, director, [head_step(sla_seconds=2, escalation_user_id=qa.id)], entity_type=entity)
    instance = await make_instance(api, buyer, entity, 3000)
    assert instance["id"] not in instance_ids(await inbox(api, qa))
    refused = await approve(api, qa, instance["id"])
    assert refused.status_code == 403

    def escalated() -> bool:
        with session_factory() as session:
            query = select(ApprovalTask.is_escalated).where(ApprovalTask.workflow_instance_id == instance["id"])
            return bool(session.scalars(query).one())

    await poll(escalated, "the step's escalation")
    qa_box = await inbox(api, qa)
    item = next(a for a in qa_box["workflow_approvals"] if a["instance_id"] == instance["id"])
    assert item["is_escalated"] is True
    assert instance["id"] in instance_ids(await inbox(api, head))  # the role may still decide
    director_item = next(a for a in (await inbox(api, director))["workflow_approvals"]
                         if a["instance_id"] == instance["id"])
    assert director_item["is_escalated"] is True
    decided = await approve(api, qa, instance["id"], comments="decided on escalation")
    assert decided.status_code == 200, decided.text
    assert decided.json()["is_escalated"] is True and decided.json()["approver_id"] == qa.id
    done = (await api.get(f"{W}/instances/{instance['id']}", headers=buyer.headers)).json()
    assert done["status"] == "approved" and done["approvals"][0]["escalated_to_id"] == qa.id
    trail = (await api.get(f"{W}/audit-trail/{entity}/{instance['reference_id']}", headers=buyer.headers)).json()
    assert "APPROVAL_ESCALATED" in [r["action"] for r in trail]


# --- bulk ----------------------------------------------------------------------------------------------------

async def test_bulk_approve_is_partial_success(api, make_user, session_factory):
    director, buyer, head = await make_user("director"), await make_user("purchase"), \
        await make_user("head_of_operations")
    entity = unique("capex")
    await make_template(api, director, [head_step()], entity_type=entity)
    good = await make_instance(api, buyer, entity, 100)
    own = await make_instance(api, head, entity, 100)
    decided = await make_instance(api, buyer, entity, 100)
    assert (await approve(api, head, decided["id"])).status_code == 200
    po, po_instance = await wf_submitted_po(api, buyer, session_factory, "6000")
    ids = [good["id"], own["id"], decided["id"], 987654321, po_instance["id"]]
    response = await api.post(f"{W}/bulk-approve", json={"instance_ids": ids, "action": "approved",
                                                         "comments": "Batch approval"}, headers=head.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["succeeded"] == 2 and body["failed"] == 3
    results = {r["instance_id"]: r for r in body["results"]}
    assert [r["instance_id"] for r in body["results"]] == ids
    assert results[good["id"]]["success"] is True and results[good["id"]]["status"] == "approved"
    assert results[own["id"]]["error"]["code"] == "SELF_APPROVAL"
    assert results[decided["id"]]["error"]["code"] == "ALREADY_DECIDED"
    assert results[987654321]["error"]["code"] == "NOT_FOUND" and results[987654321]["error"]["detail"]
    assert results[po_instance["id"]]["success"] is True
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "approved"
    assert (await api.get(f"{W}/instances/{good['id']}", headers=buyer.headers)).json()["status"] == "approved"


async def test_bulk_approve_limits(api, make_user):
    head = await make_user("head_of_operations")
    too_many = await api.post(f"{W}/bulk-approve", json={"instance_ids": list(range(1, 202)), "action": "approved"},
                              headers=head.headers)
    assert too_many.status_code == 422 and too_many.json()["code"] == "VALIDATION_ERROR"
    no_comment = await api.post(f"{W}/bulk-approve", json={"instance_ids": [1], "action": "rejected"},
                                headers=head.headers)
    assert no_comment.status_code == 422
    empty = await api.post(f"{W}/bulk-approve", json={"instance_ids": [], "action": "approved"}, headers=head.headers)
    assert empty.status_code == 422


# --- audit trail ----------------------------------------------------------------------------------------------

async def test_audit_trail_of_other_entities_needs_the_audit_permission(api, make_user, admin):
    technician, head = await make_user("technician"), await make_user("head_of_operations")
    refused = await api.get(f"{W}/audit-trail/user/{technician.id}", headers=technician.headers)
    assert refused.status_code == 403
    allowed = await api.get(f"{W}/audit-trail/user/{technician.id}", headers=head.headers)
    assert allowed.status_code == 200 and "USER_CREATED" in [r["action"] for r in allowed.json()]
    template = await api.get(f"{W}/audit-trail/approval_template/1", headers=technician.headers)
    assert template.status_code == 200
