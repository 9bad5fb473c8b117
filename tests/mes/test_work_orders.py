"""ERP work orders (manufacturing-erp.md §6.2 `start`; create, list, detail and the other transitions are
additions): one lifecycle `work-order-{id}` each, dependencies that hold back `start`, the §6.4 endpoint."""

import datetime as dt
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from tests.conftest import MakeUser, TestUser, eventually, unique
from tests.mes.helpers import V1, make_product, make_work_order, ok, transition

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def details(client: Client, work_order: dict[str, Any]) -> str:
    """What the Temporal UI shows of the work order's lifecycle (its current details)."""
    metadata = await client.get_workflow_handle(f"work-order-{work_order['id']}").query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor", full_name="Sam Supervisor")


@pytest.fixture
async def product(api, make_user):
    return await make_product(api, await make_user("engineer"))


async def test_a_work_order_is_planned_with_its_number_operations_and_dependencies(api, supervisor, product):
    first = await make_work_order(api, supervisor, product, 50)
    second = await make_work_order(api, supervisor, product, 200, depends_on=[first["id"]], notes="after the pilot")

    year = dt.datetime.now(dt.UTC).year
    assert second["work_order_number"].startswith(f"WO-{year}-") and len(second["work_order_number"]) >= 11
    assert second["status"] == "planned" and second["quantity_ordered"] == 200 and second["priority"] == "high"
    assert second["product_id"] == product["id"] and second["product_name"] == "Steel Shaft 25mm"
    assert [op["name"] for op in second["operations"]] == ["Cut", "Weld"]
    assert second["dependencies"] == [{"id": first["id"], "work_order_number": first["work_order_number"],
                                       "status": "planned"}]
    assert second["progress_percent"] == 0 and second["costs"] == {"material_cost": 0, "labor_cost": 0,
                                                                   "total_cost": 0}
    assert [h["transition_code"] for h in second["history"]] == ["create"]
    assert second["history"][0]["performed_by"]["name"] == "Sam Supervisor"
    numbers = [int(w["work_order_number"].rsplit("-", 1)[1]) for w in (first, second)]
    assert numbers[1] == numbers[0] + 1

    shown = ok(await api.get(f"{V1}/work-orders/{first['id']}", headers=supervisor.headers))
    assert shown["dependents"] == [{"id": second["id"], "work_order_number": second["work_order_number"],
                                    "status": "planned"}]
    page = ok(await api.get(f"{V1}/work-orders", headers=supervisor.headers,
                            params={"product_id": product["id"], "per_page": 1}))
    assert page["total"] == 2 and page["per_page"] == 1 and page["page"] == 1
    assert [w["id"] for w in page["work_orders"]] == [second["id"]]
    found = ok(await api.get(f"{V1}/work-orders", headers=supervisor.headers,
                             params={"search": first["work_order_number"], "status": "planned"}))
    assert [w["id"] for w in found["work_orders"]] == [first["id"]]


async def test_start_waits_for_every_dependency_to_complete(api, supervisor, product, temporal_client):
    first = await make_work_order(api, supervisor, product, 10)
    second = await make_work_order(api, supervisor, product, 10, depends_on=[first["id"]])

    assert "waiting for work orders" in await details(temporal_client, second)
    refused = await api.post(f"{V1}/work-orders/{second['id']}/start", headers=supervisor.headers)
    assert refused.status_code == 400
    assert refused.json()["error"] == "Cannot start work order"
    assert refused.json()["reason"] == f"Waiting for {first['work_order_number']} to complete"
    assert ok(await api.get(f"{V1}/work-orders/{second['id']}", headers=supervisor.headers))["status"] == "planned"

    ok(await api.post(f"{V1}/work-orders/{first['id']}/start", headers=supervisor.headers))
    ok(await api.post(f"{V1}/work-orders/{first['id']}/complete", headers=supervisor.headers,
                      json={"comment": "short run"}))

    # the dependent's lifecycle learned it (signal) and no longer shows the wait in the Temporal UI
    await eventually(lambda: details(temporal_client, second), expected="**planned** — 0 / 10 units\n\n"
                     + second["work_order_number"])
    answer = ok(await api.post(f"{V1}/work-orders/{second['id']}/start", headers=supervisor.headers))
    assert answer["status"] == "in_progress" and answer["started_by"]["name"] == "Sam Supervisor"
    assert answer["work_order_number"] == second["work_order_number"] and answer["started_at"].endswith("Z")
    assert set(answer) == {"id", "work_order_number", "status", "started_at", "started_by"}


async def test_the_transition_endpoint_moves_a_work_order_through_its_lifecycle(api, supervisor, product):
    order = await make_work_order(api, supervisor, product, 5)

    released = ok(await transition(api, supervisor, order, "release", "materials staged"))
    assert released["previous_state"] == "planned" and released["current_state"] == "released"
    assert released["performed_by"] == {"id": supervisor.id, "name": "Sam Supervisor"}
    assert released["current_assignee"] is None and released["performed_at"].endswith("Z")
    assert set(released) == {"previous_state", "current_state", "current_assignee", "performed_by", "performed_at"}

    ok(await transition(api, supervisor, order, "start"))
    held = ok(await transition(api, supervisor, order, "hold", "coolant leak"))
    assert (held["previous_state"], held["current_state"]) == ("in_progress", "on_hold")
    shown = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert shown["hold"] == {"reason": "coolant leak", "ncr_id": None, "held_from": "in_progress"}
    resumed = ok(await api.post(f"{V1}/work-orders/{order['id']}/resume", headers=supervisor.headers))
    assert resumed["status"] == "in_progress" and resumed["hold"] is None  # back where it was held from
    completed = ok(await api.post(f"{V1}/work-orders/{order['id']}/complete", headers=supervisor.headers))
    assert completed["status"] == "completed" and completed["completed_at"]
    closed = ok(await transition(api, supervisor, order, "close"))
    assert (closed["previous_state"], closed["current_state"]) == ("completed", "closed")
    final = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert [(h["transition_code"], h["from_state"], h["to_state"]) for h in final["history"]] == [
        ("create", None, "planned"), ("release", "planned", "released"), ("start", "released", "in_progress"),
        ("hold", "in_progress", "on_hold"), ("resume", "on_hold", "in_progress"),
        ("complete", "in_progress", "completed"), ("close", "completed", "closed")]
    assert final["history"][1]["comment"] == "materials staged"

    # the lifecycle has ended: nothing moves a closed work order
    after = await transition(api, supervisor, order, "cancel")
    assert after.status_code == 400 and after.json()["error"] == "Invalid transition"
    assert "closed" in after.json()["reason"]


async def test_refusals_in_the_erp_shape_change_nothing(api, supervisor, product, make_user):
    order = await make_work_order(api, supervisor, product, 5)

    illegal = await transition(api, supervisor, order, "close")
    assert illegal.status_code == 400
    assert illegal.json()["reason"] == (f"Cannot close work order {order['work_order_number']} in status planned; "
                                        "allowed: cancel, hold, release, start")
    unknown_code = await transition(api, supervisor, order, "approve")
    assert unknown_code.status_code == 400 and "allowed: cancel, hold, release, start" in unknown_code.json()["reason"]

    operator = await make_user("operator")
    denied = await transition(api, operator, order, "release")
    assert denied.status_code == 403 and denied.json()["error"] == "Not authorized"
    assert denied.json()["reason"] == "Role operator may not release work orders"

    missing = await api.post(f"{V1}/workflows/work_order/999999/transition/start", headers=supervisor.headers)
    assert missing.status_code == 404 and missing.json()["error"] == "Not found"
    unknown_type = await api.post(f"{V1}/workflows/rda_drawing/1/transition/approve", headers=supervisor.headers)
    assert unknown_type.status_code == 404 and "rda_drawing" in unknown_type.json()["reason"]
    assert (await api.get(f"{V1}/work-orders/999999", headers=supervisor.headers)).status_code == 404

    shown = ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=supervisor.headers))
    assert shown["status"] == "planned" and [h["transition_code"] for h in shown["history"]] == ["create"]


async def test_a_create_the_contract_refuses_names_the_field_and_starts_nothing(api, supervisor, product, make_user,
                                                                                 temporal_client):
    cases: list[tuple[dict[str, Any], str]] = [
        ({"product_id": 999999}, "product_id"), ({"quantity_ordered": 0}, "quantity_ordered"),
        ({"priority": "asap"}, "priority"), ({"depends_on": [999999]}, "depends_on.0"),
        ({"due_date": "next week"}, "due_date"), ({"notes": "a\x00b"}, "notes")]
    before = ok(await api.get(f"{V1}/work-orders", headers=supervisor.headers))["total"]
    for change, field in cases:
        body = {"product_id": product["id"], "quantity_ordered": 10, **change}
        refused = await api.post(f"{V1}/work-orders", headers=supervisor.headers, json=body)
        assert refused.status_code == 400, (change, refused.text)
        assert refused.json()["error"] == "Validation failed"
        assert field in [d["field"] for d in refused.json()["details"]], (change, refused.json())
    operator = await make_user("operator")
    assert (await api.post(f"{V1}/work-orders", headers=operator.headers,
                           json={"product_id": product["id"], "quantity_ordered": 1})).status_code == 403
    assert ok(await api.get(f"{V1}/work-orders", headers=supervisor.headers))["total"] == before

    first = await make_work_order(api, supervisor, product, 3)
    twice = await api.post(f"{V1}/work-orders", headers=supervisor.headers,
                           json={"product_id": product["id"], "quantity_ordered": 3,
                                 "depends_on": [first["id"], first["id"]]})
    assert twice.status_code == 400 and twice.json()["details"][0]["field"] == "depends_on.1"
    cancelled = await make_work_order(api, supervisor, product, 3)
    ok(await api.post(f"{V1}/work-orders/{cancelled['id']}/cancel", headers=supervisor.headers))
    on_cancelled = await api.post(f"{V1}/work-orders", headers=supervisor.headers,
                                  json={"product_id": product["id"], "quantity_ordered": 3,
                                        "depends_on": [cancelled["id"]]})
    assert on_cancelled.status_code == 400 and "cancelled" in on_cancelled.json()["details"][0]["message"]


async def test_the_same_idempotency_key_creates_one_work_order(api, supervisor, product):
    headers = {**supervisor.headers, "Idempotency-Key": unique("wo")}
    body = {"product_id": product["id"], "quantity_ordered": 7}
    first = ok(await api.post(f"{V1}/work-orders", headers=headers, json=body), 201)
    again = ok(await api.post(f"{V1}/work-orders", headers=headers, json=body), 201)
    assert again["id"] == first["id"] and again["work_order_number"] == first["work_order_number"]
    page = ok(await api.get(f"{V1}/work-orders", headers=supervisor.headers, params={"product_id": product["id"]}))
    assert page["total"] == 1


async def test_a_dependency_cycle_is_refused(api, supervisor, product, temporal_client):
    a = await make_work_order(api, supervisor, product, 3)
    b = await make_work_order(api, supervisor, product, 3, depends_on=[a["id"]])
    c = await make_work_order(api, supervisor, product, 3, depends_on=[b["id"]])

    for depends_on in ([c["id"]], [b["id"]], [a["id"]]):  # c waits for b, which waits for a; a on itself
        refused = await api.put(f"{V1}/work-orders/{a['id']}/dependencies", headers=supervisor.headers,
                                json={"depends_on": depends_on})
        assert refused.status_code == 400 and refused.json()["error"] == "Validation failed", refused.text
        assert refused.json()["details"][0]["field"] == "depends_on" and "cycle" in refused.json()["details"][0][
            "message"]
    assert ok(await api.get(f"{V1}/work-orders/{a['id']}", headers=supervisor.headers))["dependencies"] == []

    # c no longer waits for b: the lifecycle shows no wait, and c starts
    freed = ok(await api.put(f"{V1}/work-orders/{c['id']}/dependencies", headers=supervisor.headers,
                             json={"depends_on": []}))
    assert freed["dependencies"] == [] and freed["history"][-1]["transition_code"] == "dependencies"
    assert "waiting" not in await details(temporal_client, c)
    ok(await api.post(f"{V1}/work-orders/{c['id']}/start", headers=supervisor.headers))
    late = await api.put(f"{V1}/work-orders/{c['id']}/dependencies", headers=supervisor.headers,
                         json={"depends_on": [a["id"]]})
    assert late.status_code == 400 and late.json()["error"] == "Cannot change dependencies"
