"""Finished goods' serials (manufacturing-erp.md §6.9 `POST /api/v1/serial-numbers/generate`): `{prefix}-{NNNNN}`, one
gap-free sequence per prefix, unique system-wide, never more for a work order than it orders, safe under concurrent
calls."""

import asyncio
import re

import pytest
from sqlalchemy import select

from core.db import session_scope
from models.mes.traceability import ProductSerial
from models.operations import SerialNumber
from tests.mes.helpers import V1, make_product, ok, started
from tests.mes.trace_helpers import count, prefix

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def crew(api, make_user):
    supervisor, operator = await make_user("supervisor"), await make_user("operator")
    return supervisor, operator, await make_product(api, await make_user("engineer"))


def generate(api, user, order, quantity, serial_prefix, product_id=None):
    return api.post(f"{V1}/serial-numbers/generate", headers=user.headers, json={
        "work_order_id": order["id"], "product_id": product_id or order["product_id"], "quantity": quantity,
        "serial_prefix": serial_prefix})


async def test_the_contract_example_generates_five_consecutive_serials(api, crew, session_factory):
    supervisor, operator, product = crew
    order = await started(api, supervisor, product, 50)
    pump = prefix("PUMP")

    answer = ok(await generate(api, operator, order, 5, pump), 201)

    assert answer["work_order_id"] == order["id"] and answer["work_order_number"] == order["work_order_number"]
    assert answer["serial_numbers"] == [f"{pump}-{n:05d}" for n in range(1, 6)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", answer["generated_at"])
    assert answer["product_id"] == product["id"]
    more = ok(await generate(api, supervisor, order, 2, pump), 201)["serial_numbers"]
    assert more == [f"{pump}-00006", f"{pump}-00007"]
    with session_scope(session_factory) as session:
        kinds = dict(session.execute(select(SerialNumber.serial, SerialNumber.kind)
                                     .where(SerialNumber.serial.like(f"{pump}-%"))).tuples().all())
        assert kinds == {serial: "product" for serial in answer["serial_numbers"] + more}


async def test_concurrent_calls_for_one_prefix_get_distinct_consecutive_serials(api, crew):
    supervisor, operator, product = crew
    orders = [await started(api, supervisor, product, 10) for _ in range(5)]
    pump = prefix("PUMP")

    answers = await asyncio.gather(*(generate(api, operator, orders[i % 5], 3, pump) for i in range(10)))

    blocks = [ok(a, 201)["serial_numbers"] for a in answers]
    every = sorted(serial for block in blocks for serial in block)
    assert every == [f"{pump}-{n:05d}" for n in range(1, 31)]  # 30 distinct, no gap
    for block in blocks:  # each call got a consecutive block
        numbers = [int(s.rsplit("-", 1)[1]) for s in block]
        assert numbers == list(range(numbers[0], numbers[0] + 3))


async def test_the_quantity_ordered_caps_the_serials_even_under_concurrency(api, crew, session_factory):
    supervisor, operator, product = crew
    order = await started(api, supervisor, product, 10)
    pump = prefix("PUMP")

    answers = await asyncio.gather(*(generate(api, operator, order, 2, pump) for _ in range(8)))

    assert sorted(a.status_code for a in answers) == [201] * 5 + [400] * 3
    refused = next(a for a in answers if a.status_code == 400).json()
    assert refused == {"error": "Too many serial numbers", "code": "SERIAL_LIMIT",
                       "reason": f"Work order {order['work_order_number']} orders 10 units and has 10 serial numbers; "
                                 "2 more would make 12"}
    assert count(session_factory, ProductSerial, ProductSerial.work_order_id == order["id"]) == 10
    # the refused calls took no number: the next call for the prefix continues without a gap
    other = await started(api, supervisor, product, 1)
    assert ok(await generate(api, operator, other, 1, pump), 201)["serial_numbers"] == [f"{pump}-00011"]


async def test_a_refused_call_names_why_and_generates_nothing(api, crew, make_user, session_factory):
    supervisor, operator, product = crew
    order = await started(api, supervisor, product, 3)
    other_product = await make_product(api, await make_user("engineer"))
    pump = prefix("PUMP")
    before = count(session_factory, ProductSerial)

    cases = [(dict(product_id=other_product["id"]), "product_id"),
             (dict(serial_prefix="pump-2511"), "serial_prefix"), (dict(serial_prefix="-PUMP"), "serial_prefix"),
             (dict(serial_prefix="P" * 42), "serial_prefix"), (dict(quantity=0), "quantity"),
             (dict(work_order_id=2_000_000_000), "work_order_id")]
    for change, field in cases:
        body = {"work_order_id": order["id"], "product_id": product["id"], "quantity": 1, "serial_prefix": pump,
                **change}
        refused = await api.post(f"{V1}/serial-numbers/generate", headers=operator.headers, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "Validation failed" and refused.json()["details"][0]["field"] == field
    too_many = await generate(api, operator, order, 4, pump)
    assert too_many.status_code == 400 and too_many.json()["reason"] == (
        f"Work order {order['work_order_number']} orders 3 units and has 0 serial numbers; 4 more would make 4")
    warehouse = await make_user("warehouse")  # may not generate serials
    assert (await generate(api, warehouse, order, 1, pump)).status_code == 403
    assert count(session_factory, ProductSerial) == before
    assert ok(await generate(api, operator, order, 1, pump), 201)["serial_numbers"] == [f"{pump}-00001"]


async def test_a_number_another_kind_of_serial_holds_is_passed_over(api, crew, session_factory):
    supervisor, operator, product = crew
    order = await started(api, supervisor, product, 5)
    pump = prefix("PUMP")
    with session_scope(session_factory) as session:  # a battery pack registered with that form of serial
        session.add(SerialNumber(serial=f"{pump}-00002", kind="pack"))

    answer = ok(await generate(api, operator, order, 3, pump), 201)

    assert answer["serial_numbers"] == [f"{pump}-00001", f"{pump}-00003", f"{pump}-00004"]
