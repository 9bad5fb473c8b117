"""Aerospace inventory: receiving, the eight transaction types and their balance rules, updates, the ledger,
permissions, the audit trail, and the idempotent `receive` service the goods-receipt lifecycle calls."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.errors import AppError
from core.timeutil import utcnow
from models.audit import AuditEntry
from models.catalog import Material
from models.procurement import Inventory, InventoryTransaction
from services.procurement import inventory as service
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser

INV = "/api/v1/inventory"


# --- helpers (also used by test_inventory_concurrency.py) ------------------------------------------------

def new_material(session_factory: Any, unit: str = "kg") -> int:
    with session_scope(session_factory) as session:
        material = Material(code=unique("MAT"), name="Ti-6Al-4V bar", material_type="alloy", unit_of_measure=unit)
        session.add(material)
        session.flush()
        return material.id


def days(n: int) -> str:
    return (utcnow().date() + timedelta(days=n)).isoformat()


async def receive_stock(api: httpx.AsyncClient, user: AppUser, material_id: int, **fields: Any) -> dict[str, Any]:
    body = {"material_id": material_id, "lot_number": unique("LOT"), "batch_number": "BATCH-001",
            "quantity": 100.0, "unit_of_measure": "kg", "location": unique("WH"), "bin_number": "A-12-03",
            "manufacture_date": days(-12), "expiration_date": days(700), "certificate_of_conformance": "COC-1",
            "heat_number": "HT-45678", "mill_test_report": "MTR-1", "unit_cost": 85.50, **fields}
    response = await api.post(INV, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def move(api: httpx.AsyncClient, user: AppUser, record_id: int, kind: str, quantity: float | None = None,
               **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {"transaction_type": kind, **fields}
    if quantity is not None:
        body["quantity"] = quantity
    return await api.post(f"{INV}/{record_id}/transactions", json=body, headers=user.headers)


async def moved(api: httpx.AsyncClient, user: AppUser, record_id: int, kind: str, quantity: float | None = None,
                **fields: Any) -> dict[str, Any]:
    response = await move(api, user, record_id, kind, quantity, **fields)
    assert response.status_code == 201, response.text
    return response.json()


async def fetch(api: httpx.AsyncClient, user: AppUser, inventory_id: int) -> dict[str, Any]:
    response = await api.get(f"{INV}/{inventory_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def ledger(api: httpx.AsyncClient, user: AppUser, inventory_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"{INV}/{inventory_id}/transactions", params={"page_size": 500}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def balance(record: dict[str, Any]) -> tuple[Any, ...]:
    return record["quantity"], record["reserved_quantity"], record["status"], record["location"]


def row_balance(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["quantity_after"], row["reserved_after"], row["status_after"], row["location_after"]


async def assert_ledger_matches(api: httpx.AsyncClient, user: AppUser, inventory_id: int) -> list[dict[str, Any]]:
    """The ledger is complete: its last row is the record's balance, and no row is ever below zero."""
    record, rows = await fetch(api, user, inventory_id), await ledger(api, user, inventory_id)
    assert rows and row_balance(rows[-1]) == balance(record)
    assert all(r["quantity_after"] >= 0 and 0 <= r["reserved_after"] <= r["quantity_after"] for r in rows)
    assert all(r["available_after"] == pytest.approx(r["quantity_after"] - r["reserved_after"]) for r in rows)
    return rows


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str), body
    return body


def audit_actions(session_factory: Any, inventory_id: int) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry.action_type).where(
            AuditEntry.entity_type == "inventory", AuditEntry.entity_id == str(inventory_id)).order_by(AuditEntry.id)))


@pytest.fixture(scope="module")
async def store(make_user: MakeUser) -> AppUser:
    return await make_user("store")


@pytest.fixture(scope="module")
async def viewer(make_user: MakeUser) -> AppUser:
    return await make_user("viewer")


@pytest.fixture
def material(session_factory: Any) -> int:
    return new_material(session_factory)


# --- receiving and reading -------------------------------------------------------------------------------

async def test_receive_creates_the_record_and_its_receipt(api, store, session_factory, material):
    lot = unique("LOT")
    record = await receive_stock(api, store, material, lot_number=lot, reserved_quantity=15, notes="PO-2026-001",
                                 reference_number="GRN-1")
    assert record["material_id"] == material and record["lot_number"] == lot
    assert record["quantity"] == 100 and record["reserved_quantity"] == 15 and record["available_quantity"] == 85
    assert isinstance(record["quantity"], int | float) and isinstance(record["unit_cost"], float)
    assert record["unit_cost"] == 85.5 and record["is_expired"] is False and record["status"] == "available"
    assert record["expiration_date"] == days(700) and record["received_date"] == utcnow().date().isoformat()
    assert record["version"] == 1 and record["created_at"].endswith("Z")

    rows = await assert_ledger_matches(api, store, record["id"])
    assert [(r["transaction_type"], r["quantity"], r["performed_by"]) for r in rows] == [("receipt", 100, store.id)]
    assert rows[0]["reference_number"] == "GRN-1" and rows[0]["to_location"] == record["location"]
    assert audit_actions(session_factory, record["id"]) == ["INVENTORY_CREATED"]
    assert await fetch(api, store, record["id"]) == record


async def test_receive_defaults_and_settles_the_status(api, store, session_factory):
    material = new_material(session_factory, unit="ea")
    plain = await receive_stock(api, store, material, unit_of_measure=None, reserved_quantity=100)
    assert plain["unit_of_measure"] == "ea" and plain["status"] == "reserved" and plain["available_quantity"] == 0
    held = await receive_stock(api, store, material, status="quarantine")
    assert held["status"] == "quarantine"
    old = await receive_stock(api, store, material, expiration_date=days(-1))
    assert old["status"] == "expired" and old["is_expired"] is True


async def test_receive_validation_and_unknown_material(api, store, material):
    for bad in ({"quantity": -1}, {"quantity": 0}, {"quantity": 1.2345}, {"material_id": None},
                {"status": "consumed"}, {"reserved_quantity": 101}, {"unit_cost": 1.234}):
        response = await api.post(INV, json={"material_id": material, "quantity": 100, **bad}, headers=store.headers)
        assert response.status_code == 422, (bad, response.text)
        assert isinstance(response.json()["detail"], list)
    error(await api.post(INV, json={"material_id": 999_999_999, "quantity": 1}, headers=store.headers),
          404, "NOT_FOUND")


async def test_unknown_ids_are_404(api, store):
    error(await api.get(f"{INV}/999999999", headers=store.headers), 404, "NOT_FOUND")
    error(await api.get(f"{INV}/999999999/transactions", headers=store.headers), 404, "NOT_FOUND")
    error(await move(api, store, 999_999_999, "issue", 1), 404, "NOT_FOUND")
    error(await api.put(f"{INV}/999999999", json={"notes": "x"}, headers=store.headers), 404, "NOT_FOUND")


async def test_list_filters_and_pages(api, store, session_factory):
    material = new_material(session_factory)
    place, lot = unique("WH"), unique("LOT")
    a = await receive_stock(api, store, material, location=place, lot_number=lot)
    b = await receive_stock(api, store, material, location=place, status="quarantine")
    c = await receive_stock(api, store, material, expiration_date=days(-3))
    d = await receive_stock(api, store, material, expiration_date=days(30))
    await api.put(f"{INV}/{d['id']}", json={"expiration_date": days(-1)}, headers=store.headers)  # status unchanged

    async def ids(**params: Any) -> list[int]:
        response = await api.get(INV, params={"material_id": material, **params}, headers=store.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [a["id"], b["id"], c["id"], d["id"]]
    assert await ids(location=place) == [a["id"], b["id"]]
    assert await ids(status="quarantine") == [b["id"]]
    assert await ids(lot_number=lot) == [a["id"]]
    assert await ids(expired_only="true") == [c["id"], d["id"]]
    assert await ids(expired_only="false") == [a["id"], b["id"], c["id"], d["id"]]
    page = (await api.get(INV, params={"material_id": material, "page": 2, "page_size": 3},
                          headers=store.headers)).json()
    assert page["total"] == 4 and page["page"] == 2 and page["total_pages"] == 2 and len(page["items"]) == 1
    assert (await api.get(INV, params={"status": "bogus"}, headers=store.headers)).status_code == 422
    assert (await api.get(INV, params={"page_size": 101}, headers=store.headers)).status_code == 422


# --- permissions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "head_of_operations", "purchase", "qa", "engineer", "technician"])
async def test_other_roles_only_view(api, store, make_user, material, role):
    user = await make_user(role)
    record = await receive_stock(api, store, material)
    assert (await api.get(INV, headers=user.headers)).status_code == 200
    assert (await api.get(f"{INV}/{record['id']}", headers=user.headers)).status_code == 200
    assert (await api.get(f"{INV}/{record['id']}/transactions", headers=user.headers)).status_code == 200
    error(await api.post(INV, json={"material_id": material, "quantity": 1}, headers=user.headers),
          403, "ACCESS_DENIED")
    error(await api.put(f"{INV}/{record['id']}", json={"notes": "x"}, headers=user.headers), 403, "ACCESS_DENIED")
    for kind in ("issue", "quarantine", "adjustment"):
        error(await move(api, user, record["id"], kind, 1), 403, "ACCESS_DENIED")
    assert (await fetch(api, store, record["id"]))["version"] == 1


async def test_director_has_full_access_and_roles_without_inventory_have_none(api, make_user, material):
    director, production = await make_user("director"), await make_user("production")
    record = await receive_stock(api, director, material)
    await moved(api, director, record["id"], "issue", 1)
    error(await api.get(INV, headers=production.headers), 403, "ACCESS_DENIED")
    assert (await api.get(INV)).status_code == 401


# --- issue and scrap -------------------------------------------------------------------------------------

async def test_issue_takes_from_available_and_refuses_more(api, store, session_factory, material):
    record = await receive_stock(api, store, material, reserved_quantity=15)
    issued = await moved(api, store, record["id"], "issue", 25.0, unit_of_measure="kg", reference_number="REF-1",
                         work_order="WO-MLG-001", from_location=record["location"], reason="MLG strut")
    assert issued["transaction_type"] == "issue" and issued["quantity"] == 25 and issued["work_order"] == "WO-MLG-001"
    assert (issued["quantity_after"], issued["reserved_after"], issued["available_after"]) == (75, 15, 60)
    assert issued["from_location"] == record["location"] and issued["inventory"]["quantity"] == 75
    assert issued["inventory"]["version"] == 2

    refused = error(await move(api, store, record["id"], "issue", 60.5), 400, "INSUFFICIENT_STOCK")
    assert refused["details"] == {"requested": 60.5, "available": 60}
    error(await move(api, store, record["id"], "scrap", 61), 400, "INSUFFICIENT_STOCK")
    scrapped = await moved(api, store, record["id"], "scrap", 5.0, reason="damaged", notes="SR-2026-001")
    assert scrapped["quantity_after"] == 70 and scrapped["available_after"] == 55
    last = await moved(api, store, record["id"], "issue", 55)
    assert last["status_after"] == "reserved" and last["available_after"] == 0

    rows = await assert_ledger_matches(api, store, record["id"])
    assert [r["transaction_type"] for r in rows] == ["receipt", "issue", "scrap", "issue"]
    assert audit_actions(session_factory, record["id"]) == ["INVENTORY_CREATED", "INVENTORY_ISSUE",
                                                            "INVENTORY_SCRAP", "INVENTORY_ISSUE"]


async def test_issuing_everything_consumes_the_record(api, store, material):
    record = await receive_stock(api, store, material, quantity=10)
    done = await moved(api, store, record["id"], "issue", 10)
    assert done["inventory"]["status"] == "consumed" and done["inventory"]["quantity"] == 0
    error(await move(api, store, record["id"], "issue", 0.001), 400, "INSUFFICIENT_STOCK")
    back = await moved(api, store, record["id"], "return", 2, from_location="Production floor")
    assert back["inventory"]["status"] == "available" and back["from_location"] == "Production floor"
    assert back["to_location"] == record["location"]
    await assert_ledger_matches(api, store, record["id"])


async def test_quarantined_and_expired_stock_cannot_be_issued(api, store, material):
    held = await receive_stock(api, store, material)
    q = await moved(api, store, held["id"], "quarantine", 100.0, unit_of_measure="kg", reason="Quality hold")
    assert q["status_after"] == "quarantine" and q["quantity"] == 100
    error(await move(api, store, held["id"], "issue", 1), 409, "STOCK_QUARANTINED")
    error(await move(api, store, held["id"], "quarantine"), 409, "WORKFLOW_VIOLATION")
    released = await moved(api, store, held["id"], "release", reason="QC inspection passed")
    assert released["status_after"] == "available"
    await moved(api, store, held["id"], "issue", 1)

    by_status = await receive_stock(api, store, material, expiration_date=days(-2))
    error(await move(api, store, by_status["id"], "issue", 1), 409, "STOCK_EXPIRED")
    by_date = await receive_stock(api, store, material, expiration_date=days(10))
    await api.put(f"{INV}/{by_date['id']}", json={"expiration_date": days(-1)}, headers=store.headers)
    stale = await fetch(api, store, by_date["id"])
    assert stale["status"] == "available" and stale["is_expired"] is True
    error(await move(api, store, by_date["id"], "issue", 1), 409, "STOCK_EXPIRED")
    # expired stock leaves by scrap
    gone = await moved(api, store, by_status["id"], "scrap", 100)
    assert gone["status_after"] == "consumed"


async def test_quarantine_and_release_apply_to_the_whole_record(api, store, material):
    record = await receive_stock(api, store, material)
    error(await move(api, store, record["id"], "quarantine", 40), 400, "INVALID_QUANTITY")
    error(await move(api, store, record["id"], "release"), 409, "WORKFLOW_VIOLATION")
    await moved(api, store, record["id"], "quarantine")
    # release of a lot that went past its date settles to expired; releasing `expired` needs a new date first
    await api.put(f"{INV}/{record['id']}", json={"expiration_date": days(-1)}, headers=store.headers)
    assert (await moved(api, store, record["id"], "release"))["status_after"] == "expired"
    error(await move(api, store, record["id"], "release"), 409, "STOCK_EXPIRED")
    await api.put(f"{INV}/{record['id']}", json={"expiration_date": days(90), "reason": "shelf life extended"},
                  headers=store.headers)
    assert (await moved(api, store, record["id"], "release"))["status_after"] == "available"
    await assert_ledger_matches(api, store, record["id"])


# --- receipt, return, adjustment ---------------------------------------------------------------------------

async def test_receipt_and_return_add_and_adjustment_sets_the_count(api, store, material):
    record = await receive_stock(api, store, material, reserved_quantity=10)
    assert (await moved(api, store, record["id"], "receipt", 20, reference_number="GRN-2"))["quantity_after"] == 120
    assert (await moved(api, store, record["id"], "return", 0.5))["quantity_after"] == 120.5
    counted = await moved(api, store, record["id"], "adjustment", 98.5, reason="Physical count",
                          notes="Variance: -22 kg")
    assert counted["quantity"] == 98.5 and counted["quantity_after"] == 98.5 and counted["reserved_after"] == 10
    low = await moved(api, store, record["id"], "adjustment", 4)
    assert (low["quantity_after"], low["reserved_after"], low["status_after"]) == (4, 4, "reserved")
    zero = await moved(api, store, record["id"], "adjustment", 0)
    assert (zero["quantity_after"], zero["reserved_after"], zero["status_after"]) == (0, 0, "consumed")
    await assert_ledger_matches(api, store, record["id"])


async def test_transaction_body_rules(api, store, material):
    record = await receive_stock(api, store, material)
    for bad in ({"transaction_type": "issue"}, {"transaction_type": "issue", "quantity": 0},
                {"transaction_type": "adjustment"}, {"transaction_type": "transfer", "quantity": 1},
                {"transaction_type": "teleport", "quantity": 1}, {"transaction_type": "issue", "quantity": -1},
                {"transaction_type": "issue", "quantity": 0.0001}):
        response = await api.post(f"{INV}/{record['id']}/transactions", json=bad, headers=store.headers)
        assert response.status_code == 422, (bad, response.text)
        assert isinstance(response.json()["detail"], list)
    error(await move(api, store, record["id"], "issue", 1, unit_of_measure="lb"), 400, "UNIT_MISMATCH")
    assert (await move(api, store, record["id"], "issue", 1, unit_of_measure="KG")).status_code == 201
    error(await move(api, store, record["id"], "issue", 1, from_location="Elsewhere"), 409, "LOCATION_MISMATCH")
    error(await move(api, store, record["id"], "receipt", 1, to_location="Elsewhere"), 409, "LOCATION_MISMATCH")
    error(await move(api, store, record["id"], "issue", 1, inventory_id=record["id"] + 1), 400,
          "INVENTORY_ID_MISMATCH")
    error(await move(api, store, record["id"], "transfer", 1, to_location=record["location"]), 400,
          "INVALID_TRANSFER")
    error(await move(api, store, record["id"], "issue", 1, version=1), 409, "VERSION_CONFLICT")
    ok = await move(api, store, record["id"], "issue", 1, inventory_id=record["id"], version=2)
    assert ok.status_code == 201 and ok.json()["inventory"]["quantity"] == 98


# --- transfer --------------------------------------------------------------------------------------------

async def test_transfer_of_the_whole_record_moves_it(api, store, material):
    record = await receive_stock(api, store, material, reserved_quantity=10)
    there = unique("WH-B")
    moved_all = await moved(api, store, record["id"], "transfer", 100.0, from_location=record["location"],
                            to_location=there, to_bin_number="B-05-01", reason="climate-controlled storage")
    after = moved_all["inventory"]
    assert (after["location"], after["bin_number"], after["quantity"], after["reserved_quantity"]) == \
        (there, "B-05-01", 100, 10)
    assert moved_all["related_inventory_id"] is None and "new_inventory" not in moved_all
    assert (moved_all["from_location"], moved_all["to_location"], moved_all["location_after"]) == \
        (record["location"], there, there)
    await assert_ledger_matches(api, store, record["id"])


async def test_partial_transfer_splits_into_a_new_record(api, store, session_factory, material):
    record = await receive_stock(api, store, material, reserved_quantity=30)
    there = unique("WH-B")
    error(await move(api, store, record["id"], "transfer", 71, to_location=there), 400, "INSUFFICIENT_STOCK")
    split = await moved(api, store, record["id"], "transfer", 50.0, to_location=there, reference_number="TRF-1")
    source, part = split["inventory"], split["new_inventory"]
    assert (source["quantity"], source["reserved_quantity"], source["location"]) == (50, 30, record["location"])
    assert split["related_inventory_id"] == part["id"]
    assert (part["quantity"], part["reserved_quantity"], part["location"], part["status"]) == (50, 0, there,
                                                                                              "available")
    for field in ("material_id", "lot_number", "batch_number", "heat_number", "expiration_date", "unit_cost",
                  "certificate_of_conformance", "mill_test_report", "unit_of_measure"):
        assert part[field] == record[field], field
    new_rows = await assert_ledger_matches(api, store, part["id"])
    assert [(r["transaction_type"], r["quantity"], r["related_inventory_id"], r["from_location"])
            for r in new_rows] == [("transfer", 50, record["id"], record["location"])]
    await assert_ledger_matches(api, store, record["id"])
    assert audit_actions(session_factory, part["id"]) == ["INVENTORY_CREATED"]

    # a held record's part keeps the hold
    await moved(api, store, record["id"], "quarantine")
    held_part = (await moved(api, store, record["id"], "transfer", 5, to_location=unique("MRB")))["new_inventory"]
    assert held_part["status"] == "quarantine"


# --- update ------------------------------------------------------------------------------------------------

async def test_update_changes_fields_with_a_version_check(api, store, session_factory, material):
    record = await receive_stock(api, store, material)
    there = unique("WH-B")
    response = await api.put(f"{INV}/{record['id']}", json={"location": there, "bin_number": "B-05-01",
                                                            "status": "available", "notes": "moved", "version": 1},
                             headers=store.headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["location"], updated["bin_number"], updated["notes"], updated["status"], updated["version"]) == \
        (there, "B-05-01", "moved", "available", 2)
    rows = await assert_ledger_matches(api, store, record["id"])
    assert rows[-1]["transaction_type"] == "transfer" and rows[-1]["from_location"] == record["location"]

    stale = error(await api.put(f"{INV}/{record['id']}", json={"notes": "late", "version": 1},
                                headers=store.headers), 409, "VERSION_CONFLICT")
    assert stale["details"]["current_version"] == 2
    error(await api.put(f"{INV}/{record['id']}", json={"notes": "late"}, headers={**store.headers, "If-Match": '"1"'}),
          409, "VERSION_CONFLICT")
    assert (await api.put(f"{INV}/{record['id']}", json={"notes": "ok"},
                          headers={**store.headers, "If-Match": 'W/"2"'})).status_code == 200
    assert audit_actions(session_factory, record["id"]) == ["INVENTORY_CREATED", "INVENTORY_UPDATED",
                                                            "INVENTORY_UPDATED"]


async def test_update_routes_balance_fields_through_the_ledger(api, store, material):
    record = await receive_stock(api, store, material)
    rid = record["id"]

    async def put(body: dict[str, Any]) -> httpx.Response:
        return await api.put(f"{INV}/{rid}", json=body, headers=store.headers)

    reserved = (await put({"reserved_quantity": 100})).json()
    assert reserved["status"] == "reserved" and reserved["available_quantity"] == 0
    assert (await put({"reserved_quantity": 20, "status": "quarantine", "reason": "hold"})).json()["status"] == \
        "quarantine"
    assert (await put({"status": "available"})).json()["status"] == "available"
    assert (await put({"status": "expired"})).json()["status"] == "expired"
    error(await put({"status": "consumed"}), 409, "WORKFLOW_VIOLATION")
    error(await put({"status": "reserved"}), 409, "WORKFLOW_VIOLATION")
    error(await put({"reserved_quantity": 101}), 400, "INSUFFICIENT_STOCK")
    error(await put({"quantity": 5}), 400, "FIELD_NOT_EDITABLE")
    error(await put({"material_id": material + 1}), 400, "FIELD_NOT_EDITABLE")
    unchanged = await put({"quantity": 100, "lot_number": record["lot_number"], "material_id": material})
    assert unchanged.status_code == 200 and unchanged.json()["version"] == reserved["version"] + 3
    rows = await assert_ledger_matches(api, store, rid)
    assert [(r["transaction_type"], r["status_after"]) for r in rows] == [
        ("receipt", "available"), ("adjustment", "reserved"), ("adjustment", "available"),
        ("quarantine", "quarantine"), ("release", "available"), ("adjustment", "expired")]
    assert rows[3]["reason"] == "hold"
    assert (await put({"status": "quarantine", "bin_number": None})).json()["bin_number"] is None
    assert (await put({"location": ""})).status_code == 422


# --- the receive service (goods-receipt lifecycle) --------------------------------------------------------

def _receive(session_factory: Any, material_id: int, key: str | None, quantity: str = "12.5") -> int:
    with session_scope(session_factory) as session:
        record = service.receive(
            session, material_id=material_id, quantity=Decimal(quantity), unit_of_measure="kg", lot_number="LOT-G",
            batch_number="B-1", heat_number="HT-1", location="RECEIVING", bin_number=None,
            manufacture_date=None, expiration_date=None, unit_cost=Decimal("10.25"), reference_number="GRN-2026-0001",
            actor_id=None, source_key=key)
        return record.id


def test_receive_service_is_idempotent_by_source_key(session_factory, material):
    key = unique("grn-line")
    first = _receive(session_factory, material, key)
    again = _receive(session_factory, material, key, quantity="99")
    assert again == first
    with session_factory() as session:
        record = session.get(Inventory, first)
        assert record is not None and record.quantity == Decimal("12.500") and record.source_key == key
        assert record.status == "available" and record.version == 1
        rows = session.scalars(select(InventoryTransaction).where(InventoryTransaction.inventory_id == first)).all()
        assert [(r.transaction_type, r.quantity, r.reference_number, r.quantity_after) for r in rows] == [
            ("receipt", Decimal("12.500"), "GRN-2026-0001", Decimal("12.500"))]
        audits = session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.entity_type == "inventory", AuditEntry.entity_id == str(first)))
        assert audits == 1
    assert _receive(session_factory, material, None) != _receive(session_factory, material, None)


def test_receive_service_checks_its_input(session_factory, material):
    with pytest.raises(AppError) as unknown:
        _receive(session_factory, 999_999_999, unique("grn-line"))
    assert unknown.value.code == "NOT_FOUND"
    with pytest.raises(AppError) as bad:
        _receive(session_factory, material, unique("grn-line"), quantity="0")
    assert bad.value.code == "INVALID_QUANTITY"


async def test_idempotency_key_on_post_returns_the_first_record(api, store, material):
    key = unique("idem")
    body = {"material_id": material, "quantity": 5, "location": "RECEIVING"}
    first = await api.post(INV, json=body, headers={**store.headers, "Idempotency-Key": key})
    second = await api.post(INV, json=body, headers={**store.headers, "Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.json()["quantity"] == 5
    other = await api.post(INV, json={**body, "quantity": 7}, headers={**store.headers, "Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"  # a key is its request's
    assert len(await ledger(api, store, first.json()["id"])) == 1
