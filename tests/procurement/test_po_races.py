"""Purchase orders under concurrency (issue 3 §4, DESIGN.md §8): approvers racing on one step, concurrent
submits of one draft, a cancel racing a decision, and client retries with the same Idempotency-Key.
Whatever the interleaving: one winner, nothing applied twice, nothing lost."""

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from core.db import session_scope
from models.approvals import ApprovalInstance
from models.procurement import PurchaseOrder, PurchaseOrderHistory
from tests.conftest import eventually, unique
from tests.procurement.helpers import (
    PO,
    approval_instance,
    approval_tasks,
    decide,
    draft_po,
    history_of,
    open_tasks,
    po_body,
    submitted_po,
    supplier_and_material,
)

RACERS = 10


def history_rows(session_factory: Any, po_id: int, action: str) -> list[PurchaseOrderHistory]:
    with session_scope(session_factory) as session:
        rows = list(session.scalars(select(PurchaseOrderHistory).where(
            PurchaseOrderHistory.purchase_order_id == po_id, PurchaseOrderHistory.action == action)))
        session.expunge_all()
        return rows


def instances_of(session_factory: Any, po_id: int) -> int:
    with session_scope(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(ApprovalInstance).where(
            ApprovalInstance.reference_type == "purchase_order", ApprovalInstance.reference_id == po_id)) or 0)


async def test_ten_approvers_racing_on_a_one_step_po_one_wins(api, make_user, session_factory):
    buyer = await make_user("purchase")
    heads = [await make_user("head_of_operations") for _ in range(RACERS)]
    po = await submitted_po(api, buyer, session_factory, "6000")
    await open_tasks(session_factory, po["approval_instance_id"], 1)
    answers = await asyncio.gather(*(decide(api, head, po["id"], comments=f"approved by {head.username}")
                                     for head in heads))
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {200: 1, 409: RACERS - 1}, [(a.status_code, a.text) for a in answers]
    (winner_index,) = [i for i, answer in enumerate(answers) if answer.status_code == 200]
    winner = heads[winner_index]
    assert answers[winner_index].json()["status"] == "approved"
    assert answers[winner_index].json()["approved_by_id"] == winner.id
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] in ("ALREADY_DECIDED", "WORKFLOW_VIOLATION"), answer.text

    tasks = approval_tasks(session_factory, po["approval_instance_id"])
    assert [(t["status"], t["approver_id"], t["comments"]) for t in tasks] == [
        ("approved", winner.id, f"approved by {winner.username}")]
    approved = history_rows(session_factory, po["id"], "approved")
    assert [(h.user_id, h.to_status) for h in approved] == [(winner.id, "approved")]
    instance = await eventually(lambda: (row := approval_instance(session_factory, po["approval_instance_id"]))
                                ["completed_at"] and row)
    assert instance["status"] == "approved"
    current = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert (current["status"], current["approved_by_id"]) == ("approved", winner.id)


async def test_ten_approvers_racing_on_step_one_of_a_two_step_po_one_wins(api, make_user, session_factory):
    buyer, director = await make_user("purchase"), await make_user("director")
    heads = [await make_user("head_of_operations") for _ in range(RACERS)]
    po = await submitted_po(api, buyer, session_factory, "30000")
    instance_id = po["approval_instance_id"]
    await open_tasks(session_factory, instance_id, 1)
    answers = await asyncio.gather(*(decide(api, head, po["id"]) for head in heads))
    codes = Counter(answer.status_code for answer in answers)
    assert codes[200] == 1 and codes[409] + codes[403] == RACERS - 1, [(a.status_code, a.text) for a in answers]
    for answer in answers:
        if answer.status_code == 403:  # read the PO after step 2 opened: step 2 is the Director's
            assert answer.json()["code"] == "ACCESS_DENIED", answer.text
        elif answer.status_code == 409:
            assert answer.json()["code"] == "ALREADY_DECIDED", answer.text
    (winner_index,) = [i for i, answer in enumerate(answers) if answer.status_code == 200]
    winner = heads[winner_index]
    assert answers[winner_index].json()["status"] == "pending_approval"

    tasks = await open_tasks(session_factory, instance_id, 2)
    assert [(t["step_number"], t["status"], t["approver_id"]) for t in tasks] == [
        (1, "approved", winner.id), (2, "pending", None)]
    step_one = history_rows(session_factory, po["id"], "approved")
    assert [(h.user_id, h.to_status) for h in step_one] == [(winner.id, "pending_approval")]

    final = await decide(api, director, po["id"])
    assert final.status_code == 200 and final.json()["status"] == "approved", final.text
    assert [(h.user_id, h.to_status) for h in sorted(history_rows(session_factory, po["id"], "approved"),
                                                     key=lambda h: h.id)] == [
        (winner.id, "pending_approval"), (director.id, "approved")]


async def test_approvals_and_rejections_racing_give_one_consistent_outcome(api, make_user, session_factory):
    buyer = await make_user("purchase")
    heads = [await make_user("head_of_operations") for _ in range(RACERS)]
    po = await submitted_po(api, buyer, session_factory, "8000")
    await open_tasks(session_factory, po["approval_instance_id"], 1)
    actions = ["approved" if i % 2 else "rejected" for i in range(RACERS)]
    answers = await asyncio.gather(*(decide(api, head, po["id"], action, f"{action} by {head.username}")
                                     for head, action in zip(heads, actions, strict=True)))
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {200: 1, 409: RACERS - 1}, [(a.status_code, a.text) for a in answers]
    (winner_index,) = [i for i, answer in enumerate(answers) if answer.status_code == 200]
    action, winner = actions[winner_index], heads[winner_index]
    expected_status = "approved" if action == "approved" else "draft"
    assert answers[winner_index].json()["status"] == expected_status
    (task,) = approval_tasks(session_factory, po["approval_instance_id"])
    assert (task["status"], task["approver_id"]) == (action, winner.id)
    decisions = [h for h in await history_of(api, buyer, po["id"]) if h["action"] in ("approved", "rejected")]
    assert [(h["action"], h["user_id"], h["to_status"]) for h in decisions] == [(action, winner.id, expected_status)]
    instance = await eventually(lambda: (row := approval_instance(session_factory, po["approval_instance_id"]))
                                ["completed_at"] and row)
    assert instance["status"] == action


async def test_two_concurrent_submits_of_one_draft_one_succeeds(api, make_user, session_factory):
    buyer = await make_user("purchase")
    for amount, settled in (("6000", "pending_approval"), ("100", "approved")):
        po = await draft_po(api, buyer, session_factory, amount)
        answers = await asyncio.gather(*(api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)
                                         for _ in range(2)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 409], [(a.status_code, a.text) for a in answers]
        (won,) = [a.json() for a in answers if a.status_code == 200]
        (lost,) = [a.json() for a in answers if a.status_code == 409]
        assert won["status"] == settled and won["revision_number"] == 1
        assert lost["code"] == "WORKFLOW_VIOLATION"
        assert len(history_rows(session_factory, po["id"], "submitted")) == 1
        assert instances_of(session_factory, po["id"]) == 1
        current = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
        assert (current["status"], current["approval_instance_id"]) == (settled, won["approval_instance_id"])


async def test_submit_retried_with_the_same_idempotency_key_applies_once(api, make_user, session_factory):
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "6000")
    headers = {**buyer.headers, "Idempotency-Key": unique("submit")}
    first = await api.post(f"{PO}/{po['id']}/submit", headers=headers)
    again = await api.post(f"{PO}/{po['id']}/submit", headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["approval_instance_id"] == again.json()["approval_instance_id"]
    assert len(history_rows(session_factory, po["id"], "submitted")) == 1
    assert instances_of(session_factory, po["id"]) == 1


async def test_cancel_racing_a_decision_leaves_the_po_cancelled_and_consistent(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "7000")
    instance_id = po["approval_instance_id"]
    await open_tasks(session_factory, instance_id, 1)
    decided, cancelled = await asyncio.gather(decide(api, head, po["id"]),
                                              api.post(f"{PO}/{po['id']}/cancel", params={"reason": "race"},
                                                       headers=director.headers))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert decided.status_code in (200, 409), decided.text
    instance = await eventually(lambda: (row := approval_instance(session_factory, instance_id))["completed_at"]
                                and row)
    (task,) = approval_tasks(session_factory, instance_id)
    if task["status"] == "approved":  # the decision landed first; the cancel followed from approved
        assert instance["status"] == "approved" and task["approver_id"] == head.id
        assert len(history_rows(session_factory, po["id"], "approved")) == 1
    else:
        assert task["status"] == "cancelled" and instance["status"] == "cancelled"
        assert decided.status_code == 409
        assert history_rows(session_factory, po["id"], "approved") == []
    assert len(history_rows(session_factory, po["id"], "cancelled")) == 1
    await asyncio.sleep(0.3)  # the approval's outcome, applied after the cancel, leaves the PO cancelled
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "cancelled"


async def test_create_with_the_same_idempotency_key_returns_the_same_po(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, material_id = supplier_and_material(session_factory)
    requisition = unique("REQ")
    body = po_body(supplier_id, material_id, "750", requisition_number=requisition)
    headers = {**buyer.headers, "Idempotency-Key": unique("create-po")}
    first = await api.post(PO, json=body, headers=headers)
    again = await api.post(PO, json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert (again.json()["id"], again.json()["po_number"]) == (first.json()["id"], first.json()["po_number"])

    # retries racing each other with one key: still one PO
    racing_headers = {**buyer.headers, "Idempotency-Key": unique("create-po")}
    racing_body = po_body(supplier_id, material_id, "750", requisition_number=f"{requisition}-race")
    answers = await asyncio.gather(*(api.post(PO, json=racing_body, headers=racing_headers) for _ in range(5)))
    assert all(answer.status_code == 201 for answer in answers), [a.text for a in answers]
    assert len({(answer.json()["id"], answer.json()["po_number"]) for answer in answers}) == 1

    different = await api.post(PO, json=body, headers={**buyer.headers, "Idempotency-Key": unique("create-po")})
    assert different.status_code == 201 and different.json()["id"] not in (first.json()["id"], answers[0].json()["id"])
    without_key = await api.post(PO, json=body, headers=buyer.headers)
    assert without_key.status_code == 201 and without_key.json()["id"] != first.json()["id"]
    with session_scope(session_factory) as session:
        counts = Counter(session.scalars(select(PurchaseOrder.requisition_number).where(
            PurchaseOrder.requisition_number.startswith(requisition))))
    assert counts == {requisition: 3, f"{requisition}-race": 1}


async def test_draft_edits_racing_a_submit_never_change_what_is_being_approved(api, make_user, session_factory):
    """An edit lands before the submit (and is part of the approved amount) or is refused (409): the
    approval's amount is always the PO's total."""
    buyer = await make_user("purchase")
    outcomes: Counter[int] = Counter()
    delays = (0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16)  # the edit starts a little later each time

    async def add_line(po_id: int, material_id: int, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await api.post(f"{PO}/{po_id}/items", headers=buyer.headers,
                              json={"material_id": material_id, "quantity_ordered": 1, "unit_price": 3000})

    for delay in delays:
        po = await draft_po(api, buyer, session_factory, "4000")
        submitted, added = await asyncio.gather(api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers),
                                                add_line(po["id"], po["line_items"][0]["material_id"], delay))
        assert submitted.status_code == 200, submitted.text
        assert added.status_code in (201, 409), added.text
        outcomes[added.status_code] += 1
        current = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
        expected_total = 7000 if added.status_code == 201 else 4000
        assert current["total_amount"] == expected_total
        # 7,000 needs the Head of Operations; 4,000 alone is approved at once
        assert current["status"] == ("pending_approval" if added.status_code == 201 else "approved")
        instance = approval_instance(session_factory, current["approval_instance_id"])
        assert instance["amount"] == expected_total
        (row,) = history_rows(session_factory, po["id"], "submitted")
        assert row.po_total_at_action == expected_total
    assert sum(outcomes.values()) == len(delays)


async def test_two_concurrent_orders_and_two_concurrent_cancels_one_wins(api, make_user, session_factory):
    buyer, head, director = (await make_user("purchase"), await make_user("head_of_operations"),
                             await make_user("director"))
    po = await submitted_po(api, buyer, session_factory, "900")
    answers = await asyncio.gather(*(api.post(f"{PO}/{po['id']}/order", params={"tracking_number": f"TRK-{n}"},
                                              headers=buyer.headers) for n in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert len(history_rows(session_factory, po["id"], "ordered")) == 1
    (won,) = [a.json() for a in answers if a.status_code == 200]
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["tracking_number"] == \
        won["tracking_number"]

    answers = await asyncio.gather(*(api.post(f"{PO}/{po['id']}/cancel", params={"reason": f"by {user.role}"},
                                              headers=user.headers) for user in (head, director)))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert len(history_rows(session_factory, po["id"], "cancelled")) == 1
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "cancelled"
