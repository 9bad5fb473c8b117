"""Purchase orders through the API: totals, draft edits, thresholds, approvals, order, cancel, history."""

import uuid

from sqlalchemy import event

from core.db import session_scope
from services.procurement import purchase_order_reads
from tests.procurement.helpers import PO, decide, draft_po, po_body, submitted_po, supplier_and_material


async def test_create_computes_totals_as_the_contract_defines(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, material_id = supplier_and_material(session_factory)
    body = {"supplier_id": supplier_id, "priority": "high", "tax_amount": 450.00, "shipping_cost": 150.00,
            "currency": "USD", "requires_inspection": True,
            "line_items": [{"material_id": material_id, "quantity_ordered": 50.0, "unit_of_measure": "kg",
                            "unit_price": 85.50, "discount_percent": 5},
                           {"material_id": material_id, "quantity_ordered": 100.0, "unit_of_measure": "kg",
                            "unit_price": 12.75, "discount_percent": 0}]}
    response = await api.post(PO, json=body, headers=buyer.headers)
    assert response.status_code == 201, response.text
    po = response.json()
    assert po["status"] == "draft" and po["revision_number"] == 1 and po["po_number"].startswith("PO-")
    assert [line["total_price"] for line in po["line_items"]] == [4061.25, 1275.0]
    assert po["subtotal"] == 5336.25 and po["total_amount"] == 5936.25
    assert po["line_items"][0]["material_stage"] == "on_order"


async def test_below_five_thousand_is_approved_at_once_and_the_history_says_so(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await submitted_po(api, buyer, session_factory, "4999.99")
    assert po["status"] == "approved"
    history = (await api.get(f"{PO}/{po['id']}/history", headers=buyer.headers)).json()
    assert [h["action"] for h in history][:2] == ["approved", "submitted"]
    assert "Auto-approved" in history[0]["comments"]


async def test_from_five_thousand_one_step_by_head_of_operations(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "5000")
    assert po["status"] == "pending_approval"
    approved = await decide(api, head, po["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by_id"] == head.id
    ordered = await api.post(f"{PO}/{po['id']}/order", params={"tracking_number": "TRK1"}, headers=buyer.headers)
    assert ordered.status_code == 200 and ordered.json()["status"] == "ordered"
    assert ordered.json()["tracking_number"] == "TRK1"


async def test_from_twenty_five_thousand_two_steps(api, make_user, session_factory):
    buyer, head, director = await make_user("purchase"), await make_user("head_of_operations"), \
        await make_user("director")
    po = await submitted_po(api, buyer, session_factory, "25000")
    first = await decide(api, head, po["id"])
    assert first.status_code == 200 and first.json()["status"] == "pending_approval"
    again = await decide(api, head, po["id"])
    assert again.status_code == 403, again.text  # step 2 belongs to the Director
    final = await decide(api, director, po["id"], comments="Final approval granted.")
    assert final.status_code == 200 and final.json()["status"] == "approved"
    history = (await api.get(f"{PO}/{po['id']}/history", headers=buyer.headers)).json()
    assert [(h["action"], h["to_status"]) for h in history][:3] == [
        ("approved", "approved"), ("approved", "pending_approval"), ("submitted", "pending_approval")]
    assert history[0]["po_total_at_action"] == 25000.0 and history[0]["po_revision_at_action"] == 1


async def test_rejected_goes_back_to_draft_and_resubmission_is_the_next_revision(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, "7000")
    rejected = await decide(api, head, po["id"], "rejected", "Pricing needs renegotiation with supplier")
    assert rejected.status_code == 200 and rejected.json()["status"] == "draft"
    edited = await api.put(f"{PO}/{po['id']}", json={"notes": "renegotiated"}, headers=buyer.headers)
    assert edited.status_code == 200, edited.text
    resubmitted = await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)
    assert resubmitted.status_code == 200 and resubmitted.json()["revision_number"] == 2


async def test_requester_cannot_approve_their_own_po(api, make_user, session_factory):
    head = await make_user("head_of_operations")
    po = await submitted_po(api, head, session_factory, "6000")
    refused = await decide(api, head, po["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "SELF_APPROVAL"


async def test_only_drafts_are_editable(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await submitted_po(api, buyer, session_factory, "6000")
    refused = await api.put(f"{PO}/{po['id']}", json={"notes": "x"}, headers=buyer.headers)
    assert refused.status_code == 409 and "pending_approval" in refused.json()["detail"]


async def test_unknown_supplier_is_404(api, make_user, session_factory):
    buyer = await make_user("purchase")
    _, material_id = supplier_and_material(session_factory)
    response = await api.post(PO, json=po_body(999999, material_id, "10"), headers=buyer.headers)
    assert response.status_code == 404, response.text


async def test_draft_po_can_be_deleted(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "100")
    deleted = await api.delete(f"{PO}/{po['id']}", headers=buyer.headers)
    assert deleted.status_code == 200, deleted.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).status_code == 404


async def test_a_page_of_purchase_orders_costs_the_same_statements_as_one(api, make_user, session_factory):
    buyer = await make_user("purchase")
    marker = f"REQ-{uuid.uuid4().hex[:10]}"
    for n in range(4):  # each PO with its own supplier and material
        await draft_po(api, buyer, session_factory, "100.00", requisition_number=f"{marker}-{n}")

    def statements_for(limit: int) -> int:
        """One list page's statements, on its own connection (the worker's meanwhile are not counted)."""
        statements: list[str] = []
        with session_scope(session_factory) as session:
            event.listen(session.connection(), "before_cursor_execute", lambda *args: statements.append(args[2]))
            rows, total = purchase_order_reads.search(session, 0, limit, status=None, priority=None, supplier_id=None,
                                            from_date=None, to_date=None, text=marker)
            page = purchase_order_reads.render_many(session, rows)
        assert total == 4 and len(page) == limit
        assert all(po["supplier_name"] and len(po["line_items"]) == 1 for po in page)
        return len(statements)

    assert statements_for(1) == statements_for(4)
