"""`/api/v1/orders`: the contract's Orders examples as written, and the mapping onto purchase orders (one table,
one lifecycle): visibility both ways, status values and filters, draft-only edits, delete, submit and approve."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from api.procurement.schemas.orders import PO_STATUSES_OF, OrderStatus, order_status
from core.db import session_scope
from models.catalog import Material, Supplier
from models.procurement import GoodsReceipt, PurchaseOrder
from tests.conftest import unique
from tests.procurement.helpers import PO, draft_po

ORDERS = "/api/v1/orders"

# The contract's Get Order response: every field it shows, on the order and on each item.
ORDER_FIELDS = {"id", "order_number", "supplier_id", "created_by", "status", "priority", "order_date",
                "expected_delivery_date", "actual_delivery_date", "subtotal", "tax", "shipping_cost", "total",
                "currency", "items", "created_at", "updated_at"}
ITEM_FIELDS = {"id", "order_id", "material_id", "quantity_ordered", "quantity_received", "unit_of_measure",
               "unit_price", "total_price", "is_fully_received"}


def catalog(session_factory: Any, materials: int = 3) -> tuple[int, list[int]]:
    """A supplier and `materials` materials (the contract's supplier 1 and materials 1, 2, 3)."""
    with session_scope(session_factory) as session:
        supplier = Supplier(code=unique("SUP"), name="Aerospace Metals Inc.", status="active", tier="tier_1")
        rows = [Material(code=unique("MAT"), name=f"Material {n}", material_type="alloy", unit_of_measure="kg",
                         unit_cost=Decimal("10")) for n in range(materials)]
        session.add_all([supplier, *rows])
        session.flush()
        return supplier.id, [row.id for row in rows]


def create_example(supplier_id: int, m1: int, m2: int) -> dict[str, Any]:
    """The contract's Create Order request body, with this test's supplier and material ids."""
    return {
        "supplier_id": supplier_id,
        "status": "draft",
        "priority": "high",
        "expected_delivery_date": "2026-02-15",
        "shipping_method": "Air Freight",
        "purchase_order_number": "PO-2026-00001",
        "work_order_reference": "WO-MLG-001",
        "requires_certification": True,
        "notes": "Urgent order for MLG production",
        "items": [
            {
                "material_id": m1,
                "quantity_ordered": 50.0,
                "unit_of_measure": "kg",
                "unit_price": 85.50,
                "expected_delivery_date": "2026-02-15",
                "specification_notes": "AMS 4911, Heat treated condition",
                "notes": "Split shipment acceptable",
            },
            {
                "material_id": m2,
                "quantity_ordered": 100.0,
                "unit_of_measure": "kg",
                "unit_price": 12.75,
                "expected_delivery_date": "2026-02-10",
                "specification_notes": "AMS 4045 T6 condition",
            },
        ],
    }


async def example_order(api, user, session_factory) -> tuple[dict[str, Any], list[int]]:
    supplier_id, materials = catalog(session_factory)
    response = await api.post(ORDERS, json=create_example(supplier_id, materials[0], materials[1]),
                              headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json(), materials


def assert_get_order_shape(order: dict[str, Any]) -> None:
    assert ORDER_FIELDS <= order.keys()
    for item in order["items"]:
        assert ITEM_FIELDS <= item.keys() and item["order_id"] == order["id"]


async def test_create_order_example_answers_the_get_order_shape(api, make_user, session_factory):
    buyer = await make_user("purchase")
    order, (m1, m2, _) = await example_order(api, buyer, session_factory)
    assert_get_order_shape(order)
    assert order["order_number"].startswith("PO-") and order["order_number"] != "PO-2026-00001"
    assert order["created_by"] == buyer.id
    assert (order["status"], order["priority"], order["order_date"]) == ("draft", "high", None)
    assert order["expected_delivery_date"] == "2026-02-15" and order["actual_delivery_date"] is None
    assert (order["subtotal"], order["tax"], order["shipping_cost"], order["total"], order["currency"]) == \
        (5550.00, 0, 0, 5550.00, "USD")
    first, second = order["items"]
    assert first == {**first, "material_id": m1, "quantity_ordered": 50.0, "quantity_received": 0,
                     "unit_of_measure": "kg", "unit_price": 85.50, "total_price": 4275.00,
                     "is_fully_received": False, "expected_delivery_date": "2026-02-15",
                     "specification_notes": "AMS 4911, Heat treated condition", "notes": "Split shipment acceptable"}
    assert second == {**second, "material_id": m2, "quantity_ordered": 100.0, "quantity_received": 0,
                      "unit_price": 12.75, "total_price": 1275.00, "is_fully_received": False,
                      "expected_delivery_date": "2026-02-10", "specification_notes": "AMS 4045 T6 condition",
                      "notes": None}
    assert (order["purchase_order_number"], order["shipping_method"], order["work_order_reference"],
            order["requires_certification"], order["notes"]) == (
        "PO-2026-00001", "Air Freight", "WO-MLG-001", True, "Urgent order for MLG production")
    assert order["created_at"].endswith("Z") and order["updated_at"].endswith("Z")

    fetched = await api.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)  # Get Order by ID
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == order


async def test_an_order_is_a_purchase_order(api, make_user, session_factory):
    buyer = await make_user("purchase")
    order, _ = await example_order(api, buyer, session_factory)
    po = (await api.get(f"{PO}/{order['id']}", headers=buyer.headers)).json()
    assert (po["po_number"], po["status"], po["created_by_id"], po["total_amount"], po["subtotal"]) == (
        order["order_number"], "draft", buyer.id, 5550.0, 5550.0)
    assert (po["requisition_number"], po["work_order_reference"], po["shipping_method"]) == (
        "PO-2026-00001", "WO-MLG-001", "Air Freight")
    assert [(line["id"], line["required_date"], line["specification"]) for line in po["line_items"]] == [
        (item["id"], item["expected_delivery_date"], item["specification_notes"]) for item in order["items"]]

    made_as_po = await draft_po(api, buyer, session_factory, "1234.50", tax_amount=10, shipping_cost=5.5,
                                expected_delivery_date="2026-03-01")
    seen = await api.get(f"{ORDERS}/{made_as_po['id']}", headers=buyer.headers)
    assert seen.status_code == 200, seen.text
    seen_order = seen.json()
    assert_get_order_shape(seen_order)
    assert (seen_order["order_number"], seen_order["status"], seen_order["subtotal"], seen_order["tax"],
            seen_order["shipping_cost"], seen_order["total"], seen_order["expected_delivery_date"]) == (
        made_as_po["po_number"], "draft", 1234.5, 10, 5.5, 1250.0, "2026-03-01")
    assert [item["id"] for item in seen_order["items"]] == [line["id"] for line in made_as_po["line_items"]]

    # an edit through one view is the other's edit
    edited = await api.put(f"{PO}/{made_as_po['id']}", json={"notes": "via purchase orders"}, headers=buyer.headers)
    assert edited.status_code == 200
    assert (await api.get(f"{ORDERS}/{made_as_po['id']}", headers=buyer.headers)).json()["notes"] == \
        "via purchase orders"


async def test_update_add_item_update_item_delete_item_examples(api, make_user, session_factory):
    buyer = await make_user("purchase")
    order, (m1, _, m3) = await example_order(api, buyer, session_factory)
    url = f"{ORDERS}/{order['id']}"

    updated = await api.put(url, json={"priority": "critical", "expected_delivery_date": "2026-02-10",
                                       "tax": 450.00, "shipping_cost": 250.00,
                                       "notes": "Expedited due to production schedule"}, headers=buyer.headers)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["priority"], body["expected_delivery_date"], body["tax"], body["shipping_cost"], body["total"],
            body["notes"]) == ("critical", "2026-02-10", 450.0, 250.0, 6250.0, "Expedited due to production schedule")

    added = await api.post(f"{url}/items", json={"material_id": m3, "quantity_ordered": 25.0,
                                                 "unit_of_measure": "sqm", "unit_price": 125.00,
                                                 "expected_delivery_date": "2026-02-20",
                                                 "specification_notes": "Toray T800S prepreg",
                                                 "notes": "Store at -18°C upon receipt"}, headers=buyer.headers)
    assert added.status_code == 201, added.text
    third = added.json()["items"][-1]
    assert third == {**third, "material_id": m3, "quantity_ordered": 25.0, "unit_of_measure": "sqm",
                     "unit_price": 125.0, "total_price": 3125.0, "expected_delivery_date": "2026-02-20",
                     "specification_notes": "Toray T800S prepreg", "notes": "Store at -18°C upon receipt"}
    assert added.json()["subtotal"] == 8675.0 and added.json()["total"] == 9375.0

    first_id = order["items"][0]["id"]
    changed = await api.put(f"{url}/items/{first_id}", json={"quantity_ordered": 75.0, "quantity_received": 50.0,
                                                             "notes": "Partial shipment received"},
                            headers=buyer.headers)
    assert changed.status_code == 200, changed.text
    first = changed.json()["items"][0]
    # received quantities come from goods receipts: the example's quantity_received is not written
    assert (first["id"], first["material_id"], first["quantity_ordered"], first["total_price"],
            first["quantity_received"], first["is_fully_received"], first["notes"]) == (
        first_id, m1, 75.0, 6412.5, 0, False, "Partial shipment received")

    second_id = order["items"][1]["id"]
    removed = await api.delete(f"{url}/items/{second_id}", headers=buyer.headers)
    assert removed.status_code == 200, removed.text
    assert [item["id"] for item in removed.json()["items"]] == [first_id, third["id"]]
    assert removed.json()["subtotal"] == 9537.5 and removed.json()["total"] == 10237.5

    missing = await api.delete(f"{url}/items/{second_id}", headers=buyer.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert missing.json()["detail"] == f"Order item {second_id} not found"


async def test_submit_and_approve_examples_with_a_head_of_operations(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    order, _ = await example_order(api, buyer, session_factory)

    submitted = await api.post(f"{ORDERS}/{order['id']}/submit", headers=buyer.headers)
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["id"], submitted.json()["order_number"], submitted.json()["status"]) == (
        order["id"], order["order_number"], "pending_approval")
    assert submitted.json()["order_date"] is None

    not_theirs = await api.post(f"{ORDERS}/{order['id']}/approve", headers=buyer.headers)
    assert not_theirs.status_code == 403, not_theirs.text

    approved = await api.post(f"{ORDERS}/{order['id']}/approve", headers=head.headers)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["id"], body["order_number"], body["status"]) == (order["id"], order["order_number"], "approved")
    po = (await api.get(f"{PO}/{order['id']}", headers=buyer.headers)).json()
    assert body["order_date"] == po["po_date"] == date.today().isoformat()
    assert po["status"] == "approved" and po["approved_by_id"] == head.id
    assert (await api.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)).json() == body

    again = await api.post(f"{ORDERS}/{order['id']}/approve", headers=head.headers)
    assert again.status_code == 409 and "approved" in again.json()["detail"]


async def test_an_order_submitted_through_purchase_orders_is_approved_through_orders(api, make_user,
                                                                                    session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await draft_po(api, buyer, session_factory, "6000")
    assert (await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)).status_code == 200
    listed = await api.get(ORDERS, params={"status": "pending_approval", "supplier_id": po["supplier_id"]},
                           headers=buyer.headers)
    assert [o["id"] for o in listed.json()["items"]] == [po["id"]]
    approved = await api.post(f"{ORDERS}/{po['id']}/approve", json={"comments": "Within budget"},
                              headers=head.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    history = (await api.get(f"{PO}/{po['id']}/history", headers=buyer.headers)).json()
    assert history[0]["action"] == "approved" and history[0]["user_id"] == head.id


async def test_rejection_returns_the_order_to_draft_and_needs_comments(api, make_user, session_factory):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    order, _ = await example_order(api, buyer, session_factory)
    assert (await api.post(f"{ORDERS}/{order['id']}/submit", headers=buyer.headers)).status_code == 200
    bare = await api.post(f"{ORDERS}/{order['id']}/approve", json={"action": "rejected"}, headers=head.headers)
    assert bare.status_code == 422, bare.text
    rejected = await api.post(f"{ORDERS}/{order['id']}/approve",
                              json={"action": "rejected", "comments": "Pricing needs renegotiation"},
                              headers=head.headers)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "draft" and rejected.json()["order_date"] is None
    edited = await api.put(f"{ORDERS}/{order['id']}", json={"notes": "renegotiated"}, headers=buyer.headers)
    assert edited.status_code == 200, edited.text


async def test_below_the_threshold_submit_answers_approved_with_its_order_date(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (material_id, *_) = catalog(session_factory, 1)
    created = await api.post(ORDERS, json={"supplier_id": supplier_id, "items": [
        {"material_id": material_id, "quantity_ordered": 2, "unit_price": 100}]}, headers=buyer.headers)
    assert created.status_code == 201, created.text
    assert created.json()["priority"] == "normal" and created.json()["status"] == "draft"
    submitted = await api.post(f"{ORDERS}/{created.json()['id']}/submit", json={"notes": "small"},
                               headers=buyer.headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "approved" and submitted.json()["order_date"] == date.today().isoformat()


async def test_a_new_order_is_a_draft(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (m1, m2, _) = catalog(session_factory)
    for status in ("approved", "pending_approval", "shipped", "bogus"):
        refused = await api.post(ORDERS, json={**create_example(supplier_id, m1, m2), "status": status},
                                 headers=buyer.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "status"]
    unknown_supplier = await api.post(ORDERS, json=create_example(2_000_000_000, m1, m2), headers=buyer.headers)
    assert unknown_supplier.status_code == 404, unknown_supplier.text


async def test_the_same_idempotency_key_creates_one_order(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (m1, m2, _) = catalog(session_factory)
    headers = {**buyer.headers, "Idempotency-Key": unique("order")}
    first = await api.post(ORDERS, json=create_example(supplier_id, m1, m2), headers=headers)
    second = await api.post(ORDERS, json=create_example(supplier_id, m1, m2), headers=headers)
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert first.json() == second.json()
    listed = await api.get(ORDERS, params={"supplier_id": supplier_id}, headers=buyer.headers)
    assert listed.json()["total"] == 1


async def test_list_filters_and_pages(api, make_user, session_factory):
    buyer = await make_user("purchase")
    supplier_id, (m1, m2, _) = catalog(session_factory)
    example = create_example(supplier_id, m1, m2)
    ids = []
    for priority in ("high", "high", "low"):
        created = await api.post(ORDERS, json={**example, "priority": priority}, headers=buyer.headers)
        assert created.status_code == 201
        ids.append(created.json()["id"])
    assert (await api.post(f"{ORDERS}/{ids[0]}/submit", headers=buyer.headers)).status_code == 200

    # the contract's "With Filters" example
    pending = await api.get(ORDERS, params={"status": "pending_approval", "priority": "high",
                                            "supplier_id": supplier_id}, headers=buyer.headers)
    assert pending.status_code == 200, pending.text
    assert [o["id"] for o in pending.json()["items"]] == [ids[0]]
    assert pending.json()["items"][0]["status"] == "pending_approval"

    drafts = await api.get(ORDERS, params={"status": "draft", "supplier_id": supplier_id}, headers=buyer.headers)
    assert [o["id"] for o in drafts.json()["items"]] == [ids[2], ids[1]]
    high = await api.get(ORDERS, params={"priority": "high", "supplier_id": supplier_id}, headers=buyer.headers)
    assert [o["id"] for o in high.json()["items"]] == [ids[1], ids[0]]
    for never in ("shipped", "on_hold"):
        none = await api.get(ORDERS, params={"status": never}, headers=buyer.headers)
        assert none.status_code == 200 and none.json()["items"] == [] and none.json()["total"] == 0
    assert (await api.get(ORDERS, params={"status": "rejected"}, headers=buyer.headers)).status_code == 422
    assert (await api.get(ORDERS, params={"priority": "urgent"}, headers=buyer.headers)).status_code == 422

    # the contract's list example: page and page_size
    page = await api.get(ORDERS, params={"page": 1, "page_size": 20}, headers=buyer.headers)
    assert page.status_code == 200 and page.json()["page"] == 1 and page.json()["page_size"] == 20
    second = await api.get(ORDERS, params={"supplier_id": supplier_id, "page": 2, "page_size": 2},
                           headers=buyer.headers)
    assert second.json() == {**second.json(), "total": 3, "page": 2, "page_size": 2, "total_pages": 2}
    assert [o["id"] for o in second.json()["items"]] == [ids[0]]
    assert_get_order_shape(second.json()["items"][0])
    assert (await api.get(ORDERS, params={"page_size": 101}, headers=buyer.headers)).status_code == 422


async def test_only_drafts_are_edited_and_the_refusal_names_the_status(api, make_user, session_factory):
    buyer = await make_user("purchase")
    order, (_, _, m3) = await example_order(api, buyer, session_factory)
    url = f"{ORDERS}/{order['id']}"
    assert (await api.post(f"{url}/submit", headers=buyer.headers)).status_code == 200
    item_id = order["items"][0]["id"]
    attempts = [api.put(url, json={"notes": "x"}, headers=buyer.headers),
                api.post(f"{url}/items", json={"material_id": m3, "quantity_ordered": 1, "unit_price": 1},
                         headers=buyer.headers),
                api.put(f"{url}/items/{item_id}", json={"notes": "x"}, headers=buyer.headers),
                api.delete(f"{url}/items/{item_id}", headers=buyer.headers),
                api.delete(url, headers=buyer.headers),
                api.post(f"{url}/submit", headers=buyer.headers)]
    for attempt in attempts:
        refused = await attempt
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "WORKFLOW_VIOLATION"
        assert "order" in refused.json()["detail"] and "pending_approval" in refused.json()["detail"]
    assert (await api.get(url, headers=buyer.headers)).json()["status"] == "pending_approval"


async def test_delete_order_example_deletes_the_draft_purchase_order(api, make_user, session_factory):
    buyer = await make_user("purchase")
    order, _ = await example_order(api, buyer, session_factory)
    deleted = await api.delete(f"{ORDERS}/{order['id']}", headers=buyer.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"message": f"Order {order['order_number']} deleted", "id": order["id"]}
    gone = await api.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)
    assert gone.status_code == 404 and gone.json()["detail"] == f"Order {order['id']} not found"
    assert gone.json()["code"] == "NOT_FOUND"
    assert (await api.get(f"{PO}/{order['id']}", headers=buyer.headers)).status_code == 404
    again = await api.delete(f"{ORDERS}/{order['id']}", headers=buyer.headers)
    assert again.status_code == 404 and again.json()["detail"] == f"Order {order['id']} not found"
    submit = await api.post(f"{ORDERS}/{order['id']}/submit", headers=buyer.headers)
    assert submit.status_code == 404, submit.text
    assert (await api.post(f"{ORDERS}/{order['id']}/approve", headers=buyer.headers)).status_code == 404


async def test_permissions_follow_purchase_orders(api, make_user, session_factory):
    buyer, viewer, store, engineer = (await make_user("purchase"), await make_user("viewer"),
                                      await make_user("store"), await make_user("engineer"))
    order, _ = await example_order(api, buyer, session_factory)
    for reader in (viewer, store):
        assert (await api.get(f"{ORDERS}/{order['id']}", headers=reader.headers)).status_code == 200
        assert (await api.get(ORDERS, headers=reader.headers)).status_code == 200
    assert (await api.get(ORDERS, headers=engineer.headers)).status_code == 403
    for writer in (viewer, store):
        assert (await api.put(f"{ORDERS}/{order['id']}", json={"notes": "x"},
                              headers=writer.headers)).status_code == 403
        assert (await api.post(f"{ORDERS}/{order['id']}/submit", headers=writer.headers)).status_code == 403
        assert (await api.delete(f"{ORDERS}/{order['id']}", headers=writer.headers)).status_code == 403
    assert (await api.get(ORDERS)).status_code == 401


async def test_received_and_closed_purchase_orders_render_as_received_with_their_delivery_date(
        api, make_user, session_factory):
    buyer = await make_user("purchase")
    received, closed = (await draft_po(api, buyer, session_factory, "100"),
                        await draft_po(api, buyer, session_factory, "100"))
    with session_scope(session_factory) as session:  # as goods receipts would leave them
        for po, status in ((received, "received"), (closed, "closed")):
            session.execute(update(PurchaseOrder).where(PurchaseOrder.id == po["id"]).values(status=status))
            session.add_all([GoodsReceipt(grn_number=unique("GRN"), purchase_order_id=po["id"], status="accepted",
                                          receipt_date=date(2026, 2, 12)),
                             GoodsReceipt(grn_number=unique("GRN"), purchase_order_id=po["id"], status="accepted",
                                          receipt_date=date(2026, 2, 14)),
                             GoodsReceipt(grn_number=unique("GRN"), purchase_order_id=po["id"], status="rejected",
                                          receipt_date=date(2026, 2, 20))])
    for po in (received, closed):
        order = (await api.get(f"{ORDERS}/{po['id']}", headers=buyer.headers)).json()
        assert (order["status"], order["actual_delivery_date"]) == ("received", "2026-02-14")
    listed = await api.get(ORDERS, params={"status": "received", "supplier_id": closed["supplier_id"]},
                           headers=buyer.headers)
    assert [o["id"] for o in listed.json()["items"]] == [closed["id"]]


@pytest.mark.parametrize(("po_status", "order"), [
    ("draft", "draft"), ("rejected", "draft"), ("pending_approval", "pending_approval"), ("approved", "approved"),
    ("ordered", "ordered"), ("partially_received", "partially_received"), ("received", "received"),
    ("closed", "received"), ("cancelled", "cancelled")])
def test_status_mapping(po_status, order):
    assert order_status(po_status) == order
    assert po_status in PO_STATUSES_OF[OrderStatus(order)]


def test_order_only_statuses_match_no_purchase_order():
    assert PO_STATUSES_OF[OrderStatus.SHIPPED] == () and PO_STATUSES_OF[OrderStatus.ON_HOLD] == ()
