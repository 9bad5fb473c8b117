"""Builders for procurement tests: suppliers and materials straight in the database, POs through the API."""

from decimal import Decimal
from typing import Any

import httpx

from core.db import session_scope
from models.catalog import Material, Supplier
from tests.conftest import TestUser, unique

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
