"""Builders for procurement tests: suppliers and materials straight in the database, POs through the API."""

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from core.db import session_scope
from models.approvals import ApprovalInstance, ApprovalTask
from models.catalog import Material, Supplier
from tests.conftest import TestUser, eventually, unique

PO = "/api/v1/purchase-orders"


def supplier_and_material(session_factory: Any) -> tuple[int, int]:
    with session_scope(session_factory) as session:
        supplier = Supplier(code=unique("SUP"), name="Aerospace Metals Inc.", status="active", tier="tier_1")
        material = Material(code=unique("MAT"), name="Titanium Alloy Ti-6Al-4V", material_type="alloy",
                            unit_of_measure="kg", unit_cost=Decimal("85.50"))
        session.add_all([supplier, material])
        session.flush()
        return supplier.id, material.id


def po_body(supplier_id: int, material_id: int, amount: Decimal | str, **fields: Any) -> dict[str, Any]:
    """A one-line PO whose total is exactly `amount` (quantity 1, no tax or shipping)."""
    return {"supplier_id": supplier_id, "priority": "high", "currency": "USD", **fields,
            "line_items": [{"material_id": material_id, "quantity_ordered": 1, "unit_of_measure": "kg",
                            "unit_price": float(Decimal(str(amount)))}]}


async def draft_po(api: httpx.AsyncClient, buyer: TestUser, session_factory: Any, amount: Decimal | str,
                   **fields: Any) -> dict[str, Any]:
    supplier_id, material_id = supplier_and_material(session_factory)
    response = await api.post(PO, json=po_body(supplier_id, material_id, amount, **fields), headers=buyer.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def submitted_po(api: httpx.AsyncClient, buyer: TestUser, session_factory: Any,
                       amount: Decimal | str) -> dict[str, Any]:
    po = await draft_po(api, buyer, session_factory, amount)
    response = await api.post(f"{PO}/{po['id']}/submit", headers=buyer.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def decide(api: httpx.AsyncClient, user: TestUser, po_id: int, action: str = "approved",
                 comments: str | None = "ok") -> httpx.Response:
    return await api.post(f"{PO}/{po_id}/approve", json={"action": action, "comments": comments},
                          headers=user.headers)


# --- more builders and probes (test_po_rules.py, test_po_races.py) --------------------------------------------------

def supplier_and_materials(session_factory: Any, count: int = 2) -> tuple[int, list[int]]:
    """A fresh supplier and `count` fresh materials (a fresh supplier keeps list filters test-local)."""
    supplier_id, first = supplier_and_material(session_factory)
    ids = [first]
    with session_scope(session_factory) as session:
        for _ in range(count - 1):
            material = Material(code=unique("MAT"), name="Aluminium 6061", material_type="metal",
                                unit_of_measure="kg", unit_cost=Decimal("12.75"))
            session.add(material)
            session.flush()
            ids.append(material.id)
    return supplier_id, ids


def contract_po_body(supplier_id: int, material_ids: list[int]) -> dict[str, Any]:
    """The request body of the contract's "Create Purchase Order" example, as written (ids substituted)."""
    return {
        "supplier_id": supplier_id, "priority": "high", "required_date": "2026-02-15",
        "expected_delivery_date": "2026-02-10", "tax_amount": 450.00, "shipping_cost": 150.00, "currency": "USD",
        "shipping_method": "Air Freight", "shipping_address": "1234 Factory Blvd, Warehouse A",
        "requisition_number": "REQ-2026-001", "project_reference": "PRJ-MLG-2026",
        "work_order_reference": "WO-MLG-001", "requires_certification": True, "requires_inspection": True,
        "payment_terms": "Net 30", "delivery_terms": "FOB Origin", "notes": "Urgent order for MLG production",
        "line_items": [
            {"material_id": material_ids[0], "quantity_ordered": 50.0, "unit_of_measure": "kg", "unit_price": 85.50,
             "discount_percent": 5, "required_date": "2026-02-15", "specification": "AMS 4911", "revision": "C",
             "requires_certification": True, "requires_inspection": True, "notes": "Heat treated condition"},
            {"material_id": material_ids[1], "quantity_ordered": 100.0, "unit_of_measure": "kg",
             "unit_price": 12.75, "discount_percent": 0, "specification": "AMS 4045", "notes": "T6 condition"},
        ],
    }


async def history_of(api: httpx.AsyncClient, user: TestUser, po_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"{PO}/{po_id}/history", headers=user.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def approval_instance(session_factory: Any, instance_id: int) -> dict[str, Any]:
    with session_scope(session_factory) as session:
        row = session.get(ApprovalInstance, instance_id)
        assert row is not None, f"approval instance {instance_id} missing"
        return {c.key: getattr(row, c.key) for c in ApprovalInstance.__table__.columns}


def approval_tasks(session_factory: Any, instance_id: int) -> list[dict[str, Any]]:
    """The instance's task rows (one per opened step), in step order, as plain dicts."""
    with session_scope(session_factory) as session:
        rows = session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance_id)
                               .order_by(ApprovalTask.step_number))
        return [{c.key: getattr(row, c.key) for c in ApprovalTask.__table__.columns} for row in rows]


async def open_tasks(session_factory: Any, instance_id: int, count: int) -> list[dict[str, Any]]:
    """The instance's tasks once `count` steps are open (the approval workflow opens them asynchronously)."""

    def probe() -> list[dict[str, Any]] | None:
        tasks = approval_tasks(session_factory, instance_id)
        return tasks if len(tasks) >= count else None

    return await eventually(probe)
