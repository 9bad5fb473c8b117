"""Customers and shipments (additions the ERP contract's trace and recalls need): `SHIP-YYYY-NNN` to a customer, as
serials and/or a quantity of a work order's completed units; a serial ships once, a quantity never passes what is
left to ship, also under concurrency."""

import asyncio
import datetime as dt
import re
from typing import Any

import pytest

from models.mes.traceability import Customer, Shipment, ShipmentItem
from tests.conftest import unique
from tests.mes.helpers import V1, ok
from tests.mes.trace_helpers import (
    completed,
    consume,
    count,
    customer,
    material,
    prefix,
    produce,
    product,
    serials,
    ship,
    started,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def made(api, make_user, admin):
    """A completed work order of 10 valves, 4 of them serialised, and the people who ship them."""
    supervisor, operator, warehouse = (await make_user("supervisor"), await make_user("operator"),
                                       await make_user("warehouse"))
    brass = await material(api, admin, "Brass")
    valve = await product(api, admin, "Valve", brass["id"])
    order = await started(api, supervisor, valve, 10)
    await produce(api, operator, order, 10)
    await completed(api, supervisor, order)
    return order, await serials(api, operator, order, 4, prefix("VLV")), warehouse, operator


async def test_customers_are_created_and_listed(api, make_user):
    head = await make_user("head_of_operations")
    name = unique("Acme Manufacturing")
    acme = await customer(api, head, name, "john@acme.example.com", "+1-555-0100")
    assert {k: acme[k] for k in ("name", "contact_email", "contact_phone", "is_active")} == {
        "name": name, "contact_email": "john@acme.example.com", "contact_phone": "+1-555-0100", "is_active": True}
    assert acme["created_at"].endswith("Z")
    page = ok(await api.get(f"{V1}/customers", headers=head.headers, params={"search": name}))
    assert page == {"customers": [acme], "total": 1, "page": 1, "per_page": 50}
    assert ok(await api.get(f"{V1}/customers/{acme['id']}", headers=head.headers)) == acme
    refused = await api.post(f"{V1}/customers", headers=head.headers, json={"name": "X", "contact_email": "nope"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "contact_email"
    operator = await make_user("operator")
    assert (await api.post(f"{V1}/customers", headers=operator.headers, json={"name": "X"})).status_code == 403
    assert (await api.get(f"{V1}/customers/2000000000", headers=head.headers)).status_code == 404


async def test_serials_and_a_quantity_ship_to_a_customer(api, made):
    order, units, warehouse, _ = made
    acme = await customer(api, warehouse, unique("Acme"), "ops@acme.example.com")

    first = await ship(api, warehouse, acme["id"], serial_numbers=units[:2], work_order_id=order["id"], quantity=3)

    year = dt.datetime.now(dt.UTC).year
    assert re.fullmatch(rf"SHIP-{year}-\d{{3,}}", first["shipment_number"])
    assert first["customer"] == {"id": acme["id"], "name": acme["name"]} and first["ship_date"] == "2025-11-08"
    assert first["serial_numbers"] == units[:2] and first["total_units"] == 5
    assert (first["work_order_id"], first["work_order_number"], first["quantity"]) == (
        order["id"], order["work_order_number"], 3)
    second = await ship(api, warehouse, acme["id"], "2025-11-09", serial_numbers=[units[2]])
    assert int(second["shipment_number"].rsplit("-", 1)[1]) == int(first["shipment_number"].rsplit("-", 1)[1]) + 1
    assert second["work_order_id"] is None and second["quantity"] is None and second["total_units"] == 1

    page = ok(await api.get(f"{V1}/shipments", headers=warehouse.headers, params={"customer_id": acme["id"]}))
    assert page["total"] == 2 and [s["id"] for s in page["shipments"]] == [second["id"], first["id"]]
    assert ok(await api.get(f"{V1}/shipments/{first['id']}", headers=warehouse.headers)) == first
    # 10 completed: 5 + 1 shipped, 4 left
    assert (await ship(api, warehouse, acme["id"], work_order_id=order["id"], quantity=4))["total_units"] == 4


async def test_a_refused_shipment_names_why_and_ships_nothing(api, made, make_user, admin, session_factory):
    order, units, warehouse, operator = made
    acme = await customer(api, warehouse, unique("Acme"))
    await ship(api, warehouse, acme["id"], serial_numbers=[units[0]])
    assembly = await started(api, await make_user("supervisor"), await product(
        api, admin, "Manifold", (await material(api, admin, "Steel"))["id"]), 1)
    ok(await consume(api, operator, assembly, serial_number=units[1]), 201)  # inside a manifold now
    before = (count(session_factory, Shipment), count(session_factory, ShipmentItem))

    fields: list[tuple[dict[str, Any], str]] = [
              ({"customer_id": 2_000_000_000, "serial_numbers": [units[2]]}, "customer_id"),
              ({"serial_numbers": ["NOPE-00001"]}, "serial_numbers.0"),
              ({"serial_numbers": [units[2], units[2]]}, "serial_numbers.1"),
              ({"serial_numbers": [units[2], units[1]]}, "serial_numbers.1"),
              ({}, "serial_numbers"), ({"work_order_id": order["id"]}, "quantity"), ({"quantity": 1}, "work_order_id"),
              ({"work_order_id": 2_000_000_000, "quantity": 1}, "work_order_id"),
              ({"work_order_id": order["id"], "quantity": 0}, "quantity"),
              ({"serial_numbers": [""]}, "serial_numbers.0")]
    for body, field in fields:
        refused = await api.post(f"{V1}/shipments", headers=warehouse.headers,
                                 json={"customer_id": acme["id"], "ship_date": "2025-11-08", **body})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "Validation failed" and refused.json()["details"][0]["field"] == field
    twice = await api.post(f"{V1}/shipments", headers=warehouse.headers, json={
        "customer_id": acme["id"], "ship_date": "2025-11-08", "serial_numbers": [units[3], units[0]]})
    assert twice.status_code == 400 and twice.json()["error"] == "Serial number already shipped"
    assert twice.json()["reason"].startswith(f"{units[0]} was shipped in SHIP-")
    over = await api.post(f"{V1}/shipments", headers=warehouse.headers, json={
        "customer_id": acme["id"], "ship_date": "2025-11-08", "work_order_id": order["id"], "quantity": 10})
    assert over.status_code == 400 and over.json() == {
        "error": "Quantity exceeds what is left to ship", "code": "OVER_SHIPMENT",
        "reason": f"Work order {order['work_order_number']} completed 10 units, 1 shipped or in this shipment; 10 "
                  "more would pass it (9 left)"}
    assert (await api.post(f"{V1}/shipments", headers=operator.headers, json={
        "customer_id": acme["id"], "ship_date": "2025-11-08", "serial_numbers": [units[3]]})).status_code == 403
    assert (count(session_factory, Shipment), count(session_factory, ShipmentItem)) == before


async def test_concurrent_shipments_never_pass_the_completed_quantity(api, made, session_factory):
    order, _, warehouse, _ = made
    acme = await customer(api, warehouse, unique("Acme"))

    answers = await asyncio.gather(*(api.post(f"{V1}/shipments", headers=warehouse.headers, json={
        "customer_id": acme["id"], "ship_date": "2025-11-08", "work_order_id": order["id"], "quantity": 3})
        for _ in range(6)))

    assert sorted(a.status_code for a in answers) == [201] * 3 + [400] * 3
    assert count(session_factory, Shipment, Shipment.customer_id == acme["id"]) == 3
    assert count(session_factory, Customer, Customer.id == acme["id"]) == 1
