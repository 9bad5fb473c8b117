"""Genealogy and trace (manufacturing-erp.md §6.9 forward and backward; material consumption is an addition): a lot in
a motor whose serial went into a pump reaches the pump's customers, and the pump's backward trace lists the motor's
lot; each trace is one recursive query plus a bounded number of others, whatever the depth."""

import datetime as dt
import re

import pytest
from sqlalchemy import event

from models.mes.traceability import MaterialConsumption
from tests.conftest import unique
from tests.mes.helpers import V1, ok
from tests.mes.trace_helpers import (
    completed,
    consume,
    count,
    customer,
    lot,
    material,
    prefix,
    produce,
    product,
    serials,
    ship,
    started,
    three_levels,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_lot_is_traced_forward_through_a_motor_into_the_pumps_and_their_customers(api, make_user, admin):
    g = await three_levels(api, make_user, admin)

    traced = ok(await api.get(f"{V1}/traceability/forward", headers=g.viewer.headers,
                              params={"lot_number": g.copper_lot}))

    assert traced["trace_type"] == "forward"
    assert traced["input"] == {"lot_number": g.copper_lot, "material_name": "Copper wire", "serial_number": None,
                               "product_name": None}
    motor, pump = traced["affected_products"]
    assert (motor["work_order_number"], motor["product_name"], motor["quantity"]) == (
        g.motor_order["work_order_number"], "Motor", 2)
    assert motor["serial_numbers"] == g.motors and motor["shipments"] == []
    assert (pump["work_order_number"], pump["product_name"], pump["quantity"]) == (
        g.pump_order["work_order_number"], "Hydraulic Pump", 2)
    assert pump["serial_numbers"] == g.pumps
    assert pump["shipments"] == [
        {"shipment_number": g.shipments[0]["shipment_number"], "customer": {"id": g.acme["id"], "name": g.acme["name"]},
         "ship_date": "2025-11-08", "contact": g.acme["contact_email"]},
        {"shipment_number": g.shipments[1]["shipment_number"], "customer": {"id": g.bolt["id"], "name": g.bolt["name"]},
         "ship_date": "2025-11-09", "contact": None}]
    # the two motors are inside the two pumps: two units in all
    assert (traced["total_affected_customers"], traced["total_affected_units"]) == (2, 2)


async def test_a_pump_is_traced_backward_to_the_motor_lot_with_its_supplier_and_operations(api, make_user, admin):
    g = await three_levels(api, make_user, admin)

    traced = ok(await api.get(f"{V1}/traceability/backward", headers=g.viewer.headers,
                              params={"serial_number": g.pumps[0]}))

    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert traced["trace_type"] == "backward"
    assert traced["input"] == {"serial_number": g.pumps[0], "product_name": "Hydraulic Pump", "lot_number": None,
                               "material_name": None}
    assert traced["genealogy"]["work_order"] == {"work_order_number": g.pump_order["work_order_number"],
                                                 "completed_date": today}
    used = traced["genealogy"]["materials_used"]
    pump_wo, motor_wo = g.pump_order["work_order_number"], g.motor_order["work_order_number"]
    assert [(m["level"], m["work_order_number"], m["material_name"], m["serial_number"], m["lot_number"],
             m["supplier"], m["receipt_date"], m["quantity"]) for m in used] == [
        (0, pump_wo, "Motor", g.motors[0], None, None, None, 1),
        (0, pump_wo, "Motor", g.motors[1], None, None, None, 1),
        (0, pump_wo, "Housing", None, g.housing_lot, "XYZ Castings", "2025-11-02", 2),
        (1, motor_wo, "Copper wire", None, g.copper_lot, "ABC Motors Inc", "2025-11-01", 12.5)]
    operations = traced["genealogy"]["operations_performed"]
    assert [(o["work_order_number"], o["operation"], o["operator"], o["date"], o["quantity"]) for o in operations] == [
        (pump_wo, "Assembly", "John Operator", today, 1), (pump_wo, "Testing", "John Operator", today, 1),
        (motor_wo, "Winding", "John Operator", today, 2)]


async def test_a_serial_is_traced_forward_to_what_it_went_into(api, make_user, admin):
    g = await three_levels(api, make_user, admin)

    motor = ok(await api.get(f"{V1}/traceability/forward", headers=g.viewer.headers,
                             params={"serial_number": g.motors[1]}))
    assert motor["input"] == {"serial_number": g.motors[1], "product_name": "Motor", "lot_number": None,
                              "material_name": None}
    own, pump = motor["affected_products"]
    assert (own["product_name"], own["quantity"], own["serial_numbers"], own["shipments"]) == (
        "Motor", 1, [g.motors[1]], [])
    assert pump["serial_numbers"] == g.pumps and len(pump["shipments"]) == 2
    assert (motor["total_affected_customers"], motor["total_affected_units"]) == (2, 2)

    shipped = ok(await api.get(f"{V1}/traceability/forward", headers=g.viewer.headers,
                               params={"serial_number": g.pumps[0]}))
    [only] = shipped["affected_products"]
    assert only["serial_numbers"] == [g.pumps[0]] and [s["customer"]["id"] for s in only["shipments"]] == [
        g.acme["id"]]
    assert (shipped["total_affected_customers"], shipped["total_affected_units"]) == (1, 1)


async def test_each_trace_is_a_fixed_number_of_queries_whatever_the_depth(api, make_user, admin, engine):
    g = await three_levels(api, make_user, admin)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        ok(await api.get(f"{V1}/traceability/forward", headers=g.viewer.headers, params={"lot_number": g.copper_lot}))
        forward = [s for s in statements if "material_consumptions" in s or "shipment_items" in s
                   or "product_serials" in s or "lots" in s]
        statements.clear()
        ok(await api.get(f"{V1}/traceability/backward", headers=g.viewer.headers,
                         params={"serial_number": g.pumps[0]}))
        backward = [s for s in statements if "material_consumptions" in s or "production_logs" in s
                    or "product_serials" in s or "lots" in s]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # the lot, the recursive walk, its serials, its shipments
    assert len(forward) == 4 and sum("WITH RECURSIVE" in s for s in forward) == 1
    # the serial, the recursive walk with every consumption, the lots, the sub-assemblies, the production logs
    assert len(backward) == 5 and sum("WITH RECURSIVE" in s for s in backward) == 1


async def test_a_trace_needs_something_that_exists(api, make_user, admin):
    viewer = await make_user("viewer")
    for params in ({}, {"lot_number": "A", "serial_number": "B"}):
        refused = await api.get(f"{V1}/traceability/forward", headers=viewer.headers, params=params)
        assert refused.status_code == 400 and refused.json()["error"] == "Validation failed"
        assert refused.json()["details"][0]["field"] == "query.lot_number"
    missing = await api.get(f"{V1}/traceability/backward", headers=viewer.headers)
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "query.serial_number"
    for path, params, what in (("forward", {"lot_number": "NOPE-20250101-001"}, "Lot NOPE-20250101-001"),
                               ("forward", {"serial_number": "NOPE-00001"}, "Serial number NOPE-00001"),
                               ("backward", {"serial_number": "NOPE-00001"}, "Serial number NOPE-00001")):
        answer = await api.get(f"{V1}/traceability/{path}", headers=viewer.headers, params=params)
        assert answer.status_code == 404
        assert answer.json()["error"] == "Not found" and answer.json()["reason"] == f"{what} not found"
    purchase = await make_user("purchase")  # no traceability permission
    assert (await api.get(f"{V1}/traceability/forward", headers=purchase.headers,
                          params={"lot_number": "X"})).status_code == 403


async def test_consumption_is_refused_when_it_breaks_the_genealogy_and_changes_nothing(api, make_user, admin,
                                                                                      session_factory):
    supervisor, operator, warehouse = (await make_user("supervisor"), await make_user("operator"),
                                       await make_user("warehouse"))
    steel = await material(api, admin, "Steel")
    steel_lot = (await lot(api, warehouse, steel["id"], 10))["lot_number"]
    shaft = await product(api, admin, "Shaft", steel["id"])
    planned = ok(await api.post(f"{V1}/work-orders", headers=supervisor.headers, json={
        "product_id": shaft["id"], "quantity_ordered": 3}), 201)
    first = await started(api, supervisor, shaft, 3)
    second = await started(api, supervisor, shaft, 3)
    own = await serials(api, operator, first, 2, prefix("SHF"))
    theirs = await serials(api, operator, second, 1, prefix("SHF"))
    ok(await consume(api, operator, second, serial_number=own[0]), 201)  # second holds one of first's units
    shipped = await serials(api, operator, second, 1, prefix("SHF"))
    acme = await customer(api, warehouse, unique("Acme"))
    await ship(api, warehouse, acme["id"], serial_numbers=shipped)
    before = count(session_factory, MaterialConsumption)

    cases = [
        (planned, {"lot_number": steel_lot, "quantity": 1}, 400, "Cannot record consumption", "is planned"),
        ({"id": 2_000_000_000}, {"lot_number": steel_lot, "quantity": 1}, 404, "Work order 2000000000 not found", None),
        (first, {"lot_number": "NOPE-20250101-001", "quantity": 1}, 400, "Validation failed", "lot_number"),
        (first, {"lot_number": steel_lot, "quantity": 10.5}, 400, "Not enough left in the lot",
         f"Lot {steel_lot} received 10, 0 consumed so far; 10.5 more would make 10.5"),
        (first, {"lot_number": steel_lot}, 400, "Validation failed", ""),
        (first, {"lot_number": steel_lot, "quantity": 0}, 400, "Validation failed", "quantity"),
        (first, {"lot_number": steel_lot, "serial_number": own[1]}, 400, "Validation failed", ""),
        (first, {}, 400, "Validation failed", ""),
        (first, {"serial_number": "NOPE-00001"}, 400, "Validation failed", "serial_number"),
        (first, {"serial_number": own[1]}, 400, "Validation failed", "serial_number"),  # made by itself
        (first, {"serial_number": theirs[0]}, 400, "Validation failed", "serial_number"),  # a cycle
        (planned, {"serial_number": own[1]}, 400, "Cannot record consumption", "is planned"),
        (first, {"serial_number": shipped[0]}, 400, "Sub-assembly already shipped", "was shipped in SHIP-"),
    ]
    for order, body, status, error, reason in cases:
        answer = await consume(api, operator, order, **body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"] == error, answer.text
        if error == "Validation failed":
            assert answer.json()["details"][0]["field"] == reason, answer.text
        elif reason:
            assert reason in answer.json()["reason"], answer.text
    third = await started(api, supervisor, shaft, 3)
    again = await consume(api, operator, third, serial_number=own[0])
    assert again.status_code == 400 and again.json()["error"] == "Sub-assembly already consumed"
    assert again.json()["reason"] == f"{own[0]} went into work order {second['work_order_number']} already"
    viewer = await make_user("viewer")
    assert (await consume(api, viewer, first, lot_number=steel_lot, quantity=1)).status_code == 403
    assert count(session_factory, MaterialConsumption) == before


async def test_a_lot_and_a_sub_assembly_are_consumed_and_answered(api, make_user, admin):
    supervisor, operator, warehouse = (await make_user("supervisor"), await make_user("operator"),
                                       await make_user("warehouse"))
    steel = await material(api, admin, "Steel")
    steel_lot = (await lot(api, warehouse, steel["id"], 10))["lot_number"]
    shaft = await product(api, admin, "Shaft", steel["id"])
    maker, user = await started(api, supervisor, shaft, 2), await started(api, supervisor, shaft, 2)
    [unit] = await serials(api, operator, maker, 1, prefix("SHF"))

    used = ok(await consume(api, operator, user, lot_number=steel_lot, quantity=9.75), 201)
    assert used["work_order_number"] == user["work_order_number"] and used["lot_number"] == steel_lot
    assert (used["material_id"], used["material_name"], used["quantity"]) == (steel["id"], "Steel", 9.75)
    assert used["serial_number"] is None and used["recorded_by_id"] == operator.id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", used["consumed_at"])
    shown = ok(await api.get(f"{V1}/lot-numbers/{steel_lot}", headers=operator.headers))
    assert shown["quantity_consumed"] == 9.75

    component = ok(await consume(api, operator, user, serial_number=unit), 201)
    assert (component["serial_number"], component["component_product_name"],
            component["component_work_order_number"], component["quantity"]) == (
        unit, "Shaft", maker["work_order_number"], 1)
    assert component["lot_number"] is None and component["material_id"] is None

    await produce(api, operator, user, 2)  # completes it: consumption is still recorded on a completed order
    await completed(api, supervisor, user)
    ok(await consume(api, operator, user, lot_number=steel_lot, quantity=0.25), 201)
