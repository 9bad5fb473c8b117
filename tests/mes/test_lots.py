"""Material lots (manufacturing-erp.md §6.9 `POST /api/v1/lot-numbers`; the read, `supplier_id` and `expiry_date` are
additions): `{material code without separators}-{YYYYMMDD}-{NNN}`, counted per material and receipt date."""

import asyncio

import pytest

from models.mes.traceability import Lot
from tests.conftest import unique
from tests.mes.helpers import V1, ok
from tests.mes.trace_helpers import count, lot, material, supplier

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_contract_example_receives_a_lot_with_its_number(api, make_user, admin):
    warehouse = await make_user("warehouse")
    code = unique("STL").upper()
    steel = await material(api, admin, "Steel Plate 10mm", code)

    created = ok(await api.post(f"{V1}/lot-numbers", headers=warehouse.headers, json={
        "material_id": steel["id"], "quantity": 500, "receipt_date": "2025-11-06"}), 201)

    stripped = code.replace("-", "")
    assert {key: created[key] for key in ("lot_number", "material_id", "material_code", "material_name", "quantity",
                                          "receipt_date", "expiry_date")} == {
        "lot_number": f"{stripped}-20251106-001", "material_id": steel["id"], "material_code": code,
        "material_name": "Steel Plate 10mm", "quantity": 500, "receipt_date": "2025-11-06", "expiry_date": None}
    assert created["supplier_id"] is None and created["quantity_consumed"] == 0
    shown = ok(await api.get(f"{V1}/lot-numbers/{created['lot_number']}", headers=warehouse.headers))
    assert shown == created


async def test_the_sequence_is_per_material_and_receipt_date_and_gap_free_under_concurrency(api, make_user, admin):
    store = await make_user("store")
    first, second = await material(api, admin, "Bolt"), await material(api, admin, "Nut")
    answers = await asyncio.gather(*(api.post(f"{V1}/lot-numbers", headers=store.headers, json={
        "material_id": first["id"], "quantity": 10, "receipt_date": "2025-11-06"}) for _ in range(6)))
    numbers = sorted(ok(a, 201)["lot_number"] for a in answers)
    part = first["material_code"].replace("-", "")
    assert numbers == [f"{part}-20251106-{n:03d}" for n in range(1, 7)]
    later = await lot(api, store, first["id"], 1, "2025-11-07")
    assert later["lot_number"] == f"{part}-20251107-001"
    assert ok(await api.get(f"{V1}/lot-numbers/{later['lot_number']}", headers=store.headers)) == later
    other = second["material_code"].replace("-", "")
    assert (await lot(api, store, second["id"], 1, "2025-11-06"))["lot_number"] == f"{other}-20251106-001"


async def test_a_lot_names_its_supplier_and_expires_after_the_materials_shelf_life(api, make_user, admin):
    supervisor = await make_user("supervisor")
    resin = await material(api, admin, "Epoxy resin", shelf_life_days=180)
    vendor = await supplier(api, admin, "Resin Works")

    received = await lot(api, supervisor, resin["id"], 20.5, "2025-11-06", supplier_id=vendor["id"])
    assert received["expiry_date"] == "2026-05-05" and received["quantity"] == 20.5
    assert (received["supplier_id"], received["supplier_name"]) == (vendor["id"], "Resin Works")
    given = await lot(api, supervisor, resin["id"], 1, "2025-11-06", expiry_date="2025-12-01")
    assert given["expiry_date"] == "2025-12-01"


async def test_a_refused_lot_names_its_field_and_receives_nothing(api, make_user, admin, session_factory):
    warehouse, operator = await make_user("warehouse"), await make_user("operator")
    steel = await material(api, admin, "Steel")
    before = count(session_factory, Lot)
    valid = {"material_id": steel["id"], "quantity": 5, "receipt_date": "2025-11-06"}
    for change, field in (({"material_id": 2_000_000_000}, "material_id"),
                          ({"supplier_id": 2_000_000_000}, "supplier_id"), ({"quantity": 0}, "quantity"),
                          ({"quantity": -3}, "quantity"),
                          ({"receipt_date": "06/11/2025"}, "receipt_date"),
                          ({"expiry_date": "2025-11-05"}, "expiry_date"), ({"colour": "red"}, "colour")):
        refused = await api.post(f"{V1}/lot-numbers", headers=warehouse.headers, json={**valid, **change})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "Validation failed"
        assert refused.json()["details"][0]["field"] == field
    assert (await api.post(f"{V1}/lot-numbers", headers=operator.headers, json=valid)).status_code == 403
    purchase = await make_user("purchase")  # neither receives lots nor sees traceability
    assert (await api.get(f"{V1}/lot-numbers/X-20250101-001", headers=purchase.headers)).status_code == 403
    assert count(session_factory, Lot) == before
    missing = await api.get(f"{V1}/lot-numbers/NOPE-20250101-001", headers=warehouse.headers)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found", "code": "NOT_FOUND", "reason": "Lot NOPE-20250101-001 not found"}
