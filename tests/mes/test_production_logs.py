"""ERP production logs (manufacturing-erp.md §6.2 `POST /api/v1/production-logs`): costs from the product's bill
and the operation's labour rate, only on a work order in progress, never past the ordered quantity however many
operators log at once, and reaching it completes the work order."""

import asyncio
from typing import Any

import pytest

from tests.conftest import MakeUser, TestUser, eventually
from tests.mes.helpers import V1, make_product, make_work_order, ok, started, transition

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


@pytest.fixture
async def operator(make_user: MakeUser) -> TestUser:
    return await make_user("operator", full_name="John Doe")


@pytest.fixture
async def product(api, make_user):
    return await make_product(api, await make_user("engineer"))


async def log(api, operator, order, quantity, **fields):
    return await api.post(f"{V1}/production-logs", headers=operator.headers,
                          json={"work_order_id": order["id"], "quantity_completed": quantity, **fields})


async def test_the_contract_example_adds_material_and_labour_cost(api, supervisor, operator, product):
    order = await started(api, supervisor, product, 200)
    ok(await log(api, operator, order, 100, hours_worked=8), 201)

    logged = ok(await log(api, operator, order, 50, hours_worked=4.5, notes="All units passed inspection"), 201)
    assert set(logged) == {"id", "work_order_id", "work_order_number", "quantity_completed", "cumulative_completed",
                           "quantity_ordered", "progress_percent", "material_cost_added", "labor_cost_added",
                           "logged_at"}
    assert (logged["work_order_id"], logged["work_order_number"]) == (order["id"], order["work_order_number"])
    assert (logged["quantity_completed"], logged["cumulative_completed"], logged["quantity_ordered"]) == (50, 150, 200)
    assert logged["progress_percent"] == 75
    # 50 × (2 × 5.00 + 0.5 × 1.60) = 540.00; 4.5 h at the default 25/h (no operation named) = 112.50
    assert (logged["material_cost_added"], logged["labor_cost_added"]) == (540, 112.5)
    assert logged["logged_at"].endswith("Z")

    cut = product["operations"][0]  # its own rate, 30/h
    at_cut = ok(await log(api, operator, order, 10, hours_worked=2, operation_id=cut["id"]), 201)
    assert at_cut["labor_cost_added"] == 60 and at_cut["material_cost_added"] == 108

    shown = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert shown["quantity_completed"] == 160 and shown["progress_percent"] == 80
    assert shown["costs"] == {"material_cost": 1728, "labor_cost": 372.5, "total_cost": 2100.5}  # 200 + 112.5 + 60
    assert shown["logs_summary"]["count"] == 3 and shown["logs_summary"]["hours_worked"] == 14.5

    logs = ok(await api.get(f"{V1}/work-orders/{order['id']}/production-logs", headers=supervisor.headers))
    assert logs["total"] == 3 and logs["per_page"] == 50
    assert [entry["operator"] for entry in logs["production_logs"]] == [{"id": operator.id, "name": "John Doe"}] * 3
    assert logs["production_logs"][2]["operation"] == {"id": cut["id"], "name": "Cut", "sequence": 10}
    assert logs["production_logs"][1]["notes"] == "All units passed inspection"


async def test_a_log_is_refused_unless_the_work_order_is_in_progress_and_changes_nothing(api, supervisor, operator,
                                                                                        product, make_user):
    planned = await make_work_order(api, supervisor, product, 10)
    refused = await log(api, operator, planned, 1)
    assert refused.status_code == 400 and refused.json()["error"] == "Cannot log production"
    assert "planned" in refused.json()["reason"]

    order = await started(api, supervisor, product, 10)
    ok(await transition(api, supervisor, order, "hold", "tool change"))
    held = await log(api, operator, order, 1)
    assert held.status_code == 400 and "on_hold" in held.json()["reason"]
    ok(await transition(api, supervisor, order, "resume"))

    over = await log(api, operator, order, 11)
    assert over.status_code == 400 and over.json()["error"] == "Quantity exceeds the work order"
    assert "11" in over.json()["reason"] and "10 ordered" in over.json()["reason"]
    other = await make_product(api, await make_user("engineer"))
    wrong_step = await log(api, operator, order, 1, operation_id=other["operations"][0]["id"])
    assert wrong_step.status_code == 400 and wrong_step.json()["details"][0]["field"] == "operation_id"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"quantity_completed": 0}, "quantity_completed"), ({"hours_worked": -1}, "hours_worked"),
        ({"work_order_id": 999999}, "work_order_id"), ({"quantity_completed": "many"}, "quantity_completed")]
    for body, field in cases:
        bad = await api.post(f"{V1}/production-logs", headers=operator.headers,
                             json={"work_order_id": order["id"], "quantity_completed": 1, **body})
        assert bad.status_code == 400 and bad.json()["details"][0]["field"] == field, bad.text
    inspector = await make_user("inspector")
    assert (await log(api, inspector, order, 1)).status_code == 403

    shown = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert shown["quantity_completed"] == 0 and shown["logs_summary"]["count"] == 0


async def test_operators_logging_at_once_never_lose_a_unit_nor_pass_the_order(api, supervisor, product, make_user):
    first = await started(api, supervisor, product, 150)
    waiting = await make_work_order(api, supervisor, product, 5, depends_on=[first["id"]])
    operators = [await make_user("operator") for _ in range(4)]

    answers = await asyncio.gather(*(log(api, operators[i % 4], first, 10, hours_worked=1) for i in range(20)))
    accepted = [a for a in answers if a.status_code == 201]
    assert len(accepted) == 15 and all(a.status_code == 400 for a in answers if a.status_code != 201)
    assert sorted(a.json()["cumulative_completed"] for a in accepted) == list(range(10, 151, 10))

    # reaching the ordered quantity completes the work order, and the one waiting on it may start
    async def status() -> str:
        return ok(await api.get(f"{V1}/work-orders/{first['id']}", headers=supervisor.headers))["status"]

    await eventually(status, expected="completed")
    shown = ok(await api.get(f"{V1}/work-orders/{first['id']}", headers=supervisor.headers))
    assert shown["quantity_completed"] == 150 and shown["costs"]["material_cost"] == 1620
    assert shown["history"][-1]["transition_code"] == "complete" and shown["history"][-1]["performed_by"] is None
    assert ok(await api.post(f"{V1}/work-orders/{waiting['id']}/start", headers=supervisor.headers))["status"] \
        == "in_progress"
