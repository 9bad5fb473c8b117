"""A failed inspection (issue 12 §4): it raises an NCR report (major, "Inspection Failure", linked to the work
order, its number in the answer) and holds the work order until the NCR is approved or a supervisor resumes it;
production logs on the held work order are refused."""

import pytest

from tests.conftest import MakeUser, TestUser, eventually
from tests.mes.helpers import V1, make_product, ok, started

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


async def first_piece_plan(api, make_user, product) -> dict:
    manager = await make_user("quality_manager")
    return ok(await api.post(f"{V1}/inspection-plans", headers=manager.headers, json={
        "product_id": product["id"], "inspection_points": [{"name": "First Piece Inspection",
                                                            "frequency_type": "first_piece", "characteristics": [
            {"name": "Shaft Diameter", "type": "dimensional", "specification": "25mm", "tolerance": "±0.1mm",
             "usl": 25.1, "lsl": 24.9}]}]}), 201)


async def inspect(api, inspector, order, plan, value):
    point = plan["inspection_points"][0]
    return await api.post(f"{V1}/inspection-logs", headers=inspector.headers, json={
        "work_order_id": order["id"], "inspection_point_id": point["id"],
        "measurements": [{"characteristic_id": point["characteristics"][0]["id"], "measured_value": value}]})


async def status_of(api, user, order) -> str:
    return ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=user.headers))["status"]


async def test_a_failed_inspection_raises_an_ncr_and_holds_the_work_order_until_it_is_approved(
        api, make_user, supervisor, admin):
    product = await make_product(api, await make_user("engineer"))
    plan = await first_piece_plan(api, make_user, product)
    order = await started(api, supervisor, product, 10)
    inspector, operator = await make_user("inspector"), await make_user("operator")

    passed = ok(await inspect(api, inspector, order, plan, 25.05), 201)
    assert passed["overall_result"] == "pass" and passed["ncr_number"] is None
    assert await status_of(api, supervisor, order) == "in_progress"

    failed = ok(await inspect(api, inspector, order, plan, 25.16), 201)
    assert failed["overall_result"] == "fail" and failed["ncr_number"].startswith("NCR-")
    reports = ok(await api.get(f"{V1}/ncr-reports", headers=inspector.headers,
                               params={"work_order_id": order["id"]}))["ncr_reports"]
    [ncr] = [r for r in reports if r["ncr_number"] == failed["ncr_number"]]
    assert (ncr["severity"], ncr["ncr_type"], ncr["status"]) == ("major", "Inspection Failure", "submitted")
    assert ncr["work_order_number"] == order["work_order_number"]

    held = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert held["status"] == "on_hold" and held["hold"]["ncr_id"] == ncr["id"]
    assert held["hold"]["held_from"] == "in_progress" and failed["ncr_number"] in held["hold"]["reason"]
    refused = await api.post(f"{V1}/production-logs", headers=operator.headers,
                             json={"work_order_id": order["id"], "quantity_completed": 1})
    assert refused.status_code == 400 and "on_hold" in refused.json()["reason"]

    approved = ok(await api.post(f"{V1}/workflows/ncr_report/{ncr['id']}/transition/approve",
                                 headers=admin.headers, json={"comment": "rework the batch"}))
    assert approved["current_state"] == "approved"
    await eventually(lambda: status_of(api, supervisor, order), expected="in_progress")
    resumed = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert resumed["history"][-1]["transition_code"] == "resume" and resumed["history"][-1]["performed_by"] is None
    ok(await api.post(f"{V1}/production-logs", headers=operator.headers,
                      json={"work_order_id": order["id"], "quantity_completed": 1}), 201)


async def test_a_supervisor_resumes_a_held_work_order_and_the_ncr_approval_later_changes_nothing(
        api, make_user, supervisor, admin):
    product = await make_product(api, await make_user("engineer"))
    plan = await first_piece_plan(api, make_user, product)
    order = await started(api, supervisor, product, 10)
    failed = ok(await inspect(api, await make_user("inspector"), order, plan, 24.8), 201)
    assert await status_of(api, supervisor, order) == "on_hold"

    ok(await api.post(f"{V1}/work-orders/{order['id']}/resume", headers=supervisor.headers,
                      json={"comment": "deviation accepted by the customer"}))
    ok(await api.post(f"{V1}/work-orders/{order['id']}/hold", headers=supervisor.headers,
                      json={"comment": "tool change"}))
    reports = ok(await api.get(f"{V1}/ncr-reports", headers=admin.headers,
                               params={"work_order_id": order["id"]}))["ncr_reports"]
    [ncr] = [r for r in reports if r["ncr_number"] == failed["ncr_number"]]
    ok(await api.post(f"{V1}/workflows/ncr_report/{ncr['id']}/transition/approve", headers=admin.headers))

    # held again since, by hand: the NCR's approval does not resume it
    async def ncr_state() -> str:
        return ok(await api.get(f"{V1}/ncr-reports/{ncr['id']}", headers=admin.headers))["status"]

    await eventually(ncr_state, expected="approved")
    shown = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert shown["status"] == "on_hold" and shown["hold"]["reason"] == "tool change"
