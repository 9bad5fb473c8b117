"""Goods receipts: receive against approved/ordered POs, inspection, acceptance into inventory, stages."""

import asyncio

from sqlalchemy import func, select

from models.procurement import Inventory, PurchaseOrder
from models.quality import NonConformance
from tests.procurement.helpers import PO, decide, submitted_po

GRN = f"{PO}/grn"


async def approved_po(api, make_user, session_factory, amount: str = "6000", **fields):
    buyer, head = await make_user("purchase"), await make_user("head_of_operations")
    po = await submitted_po(api, buyer, session_factory, amount)
    if po["status"] == "pending_approval":
        response = await decide(api, head, po["id"])
        assert response.status_code == 200, response.text
        po = response.json()
    assert po["status"] == "approved"
    return po, buyer, head


def receipt(po: dict, quantity: float, **line) -> dict:
    first = po["line_items"][0]
    return {"purchase_order_id": po["id"], "receipt_date": "2026-02-10", "delivery_note_number": "DN-2026-001",
            "coc_received": True, "storage_location": "Warehouse-A",
            "line_items": [{"po_line_item_id": first["id"], "quantity_received": quantity, "unit_of_measure": "kg",
                            "lot_number": "LOT-2026-001", "heat_number": "HT-45678", "bin_number": "A-12-03",
                            "expiry_date": "2028-01-15", **line}]}


async def po_status(api, user, po_id: int, expected: str) -> dict:
    for _ in range(100):
        po = (await api.get(f"{PO}/{po_id}", headers=user.headers)).json()
        if po["status"] == expected:
            return po
        await asyncio.sleep(0.05)
    raise AssertionError(f"PO {po_id} never became {expected}: {po['status']}")


async def test_receive_without_inspection_then_accept_fully_receives_the_po(api, make_user, session_factory):
    po, buyer, head = await approved_po(api, make_user, session_factory, quantity=1)
    store = await make_user("store")
    grn = await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)
    assert grn.status_code == 201, grn.text
    assert grn.json()["status"] == "draft" and grn.json()["grn_number"].startswith("GRN-")
    accepted = await api.post(f"{GRN}/{grn.json()['id']}/accept", headers=store.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    line = accepted.json()["line_items"][0]
    assert line["quantity_accepted"] == 1.0 and line["inventory_id"]
    received = await po_status(api, buyer, po["id"], "received")
    assert received["line_items"][0]["quantity_received"] == 1.0
    assert received["line_items"][0]["material_stage"] == "raw_material"
    again = await api.post(f"{GRN}/{grn.json()['id']}/accept", headers=store.headers)
    assert again.status_code == 409
    with session_factory() as session:
        stock = session.scalars(select(Inventory).where(Inventory.id == line["inventory_id"])).one()
        assert stock.quantity == 1 and stock.lot_number == "LOT-2026-001" and stock.location == "Warehouse-A"


async def test_partial_receipts_and_over_receipt_naming_the_line(api, make_user, session_factory):
    buyer, head, store = await make_user("purchase"), await make_user("head_of_operations"), await make_user("store")
    po = await submitted_po(api, buyer, session_factory, "6000")
    po = (await decide(api, head, po["id"])).json()
    # one line of quantity 1: receiving 2 is over
    over = await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 2), headers=store.headers)
    assert over.status_code == 400 and over.json()["code"] == "OVER_RECEIPT"
    assert "Line 1" in over.json()["detail"]


async def test_inspection_required_waits_for_qa_and_failure_raises_an_ncr(api, make_user, session_factory):
    buyer, head, store, qa = (await make_user("purchase"), await make_user("head_of_operations"),
                              await make_user("store"), await make_user("qa"))
    po = await inspected_po(api, buyer, head, session_factory)
    grn = await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)
    assert grn.status_code == 201 and grn.json()["status"] == "pending_inspection", grn.text
    grn_id = grn.json()["id"]
    premature = await api.post(f"{GRN}/{grn_id}/accept", headers=store.headers)
    assert premature.status_code == 409
    refused = await api.post(f"{GRN}/{grn_id}/inspect", params={"inspection_passed": "false"}, headers=store.headers)
    assert refused.status_code == 403
    failed = await api.post(f"{GRN}/{grn_id}/inspect", params={"inspection_passed": "false",
                                                               "inspection_notes": "Failed hardness test"},
                            headers=qa.headers)
    assert failed.status_code == 200 and failed.json()["status"] == "inspection_failed"
    assert failed.json()["ncr_number"].startswith("NCR-")
    with session_factory() as session:
        ncr = session.get(NonConformance, failed.json()["ncr_id"])
        assert ncr.kind == "inspection" and ncr.source_id == grn_id
    again = await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)
    assert again.status_code == 201  # a failed receipt gives its quantity back to the line


async def inspected_po(api, buyer, head, session_factory) -> dict:
    """An approved PO that requires inspection."""
    po = await submitted_po(api, buyer, session_factory, "6000")
    with session_factory() as session:
        session.get(PurchaseOrder, po["id"]).requires_inspection = True
        session.commit()
    return (await decide(api, head, po["id"])).json()


async def test_po_requiring_inspection_goes_through_qa_then_store(api, make_user, session_factory):
    buyer, head, store, qa = (await make_user("purchase"), await make_user("head_of_operations"),
                              await make_user("store"), await make_user("qa"))
    po = await inspected_po(api, buyer, head, session_factory)
    grn = (await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)).json()
    assert grn["status"] == "pending_inspection"
    po_now = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert po_now["line_items"][0]["material_stage"] == "in_inspection"
    passed = await api.post(f"{GRN}/{grn['id']}/inspect", params={"inspection_passed": "true",
                                                                  "inspection_notes": "All materials meet spec"},
                            headers=qa.headers)
    assert passed.status_code == 200 and passed.json()["status"] == "inspection_passed"
    accepted = await api.post(f"{GRN}/{grn['id']}/accept", headers=store.headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    await po_status(api, buyer, po["id"], "received")


async def test_receiving_needs_an_approved_or_ordered_po(api, make_user, session_factory):
    buyer, store = await make_user("purchase"), await make_user("store")
    po = await submitted_po(api, buyer, session_factory, "6000")  # pending approval
    refused = await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)
    assert refused.status_code == 409 and "pending_approval" in refused.json()["detail"]


async def test_material_stage_transitions(api, make_user, session_factory):
    po, buyer, _ = await approved_po(api, make_user, session_factory)
    store = await make_user("store")
    line_id = po["line_items"][0]["id"]
    illegal = await api.put(f"{PO}/{po['id']}/items/{line_id}/stage", json={"material_stage": "wip"},
                            headers=store.headers)
    assert illegal.status_code == 409 and "on_order" in illegal.json()["detail"]
    ok = await api.put(f"{PO}/{po['id']}/items/{line_id}/stage",
                       json={"material_stage": "raw_material", "notes": "Moved"}, headers=store.headers)
    assert ok.status_code == 200 and ok.json()["line_items"][0]["material_stage"] == "raw_material"
    wip = await api.put(f"{PO}/{po['id']}/items/{line_id}/stage", json={"material_stage": "wip"},
                        headers=store.headers)
    assert wip.status_code == 200
    unknown = await api.put(f"{PO}/{po['id']}/items/{line_id}/stage", json={"material_stage": "melted"},
                            headers=store.headers)
    assert unknown.status_code == 422


async def test_accepted_receipt_creates_exactly_one_stock_record_per_line(api, make_user, session_factory):
    po, buyer, _ = await approved_po(api, make_user, session_factory)
    store = await make_user("store")
    grn = (await api.post(f"{PO}/{po['id']}/receive", json=receipt(po, 1), headers=store.headers)).json()
    results = await asyncio.gather(*[api.post(f"{GRN}/{grn['id']}/accept", headers=store.headers)
                                     for _ in range(5)])
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409, 409]
    with session_factory() as session:
        count = session.scalar(select(func.count(Inventory.id)).where(
            Inventory.source_key == f"grn-line:{grn['line_items'][0]['id']}"))
    assert count == 1
