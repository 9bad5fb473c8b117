"""ERP inspection plans (manufacturing-erp.md §6.8, `/api/v1/inspection-plans`): the contract's example as
created and listed, the list's filters and paging, a page read in a fixed number of statements, every refusal in
the ERP shape with nothing written, who may write. The helpers here (a product, a plan, a work order row) serve the
inspection-log and SPC tests too."""

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from models.audit import AuditEntry
from models.mes import InspectionPlan, WorkOrder
from tests.conftest import MakeUser, TestUser, unique

V1 = "/api/v1"
PLANS = f"{V1}/inspection-plans"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, field: str, message: str) -> None:
    """The ERP contract's validation failure naming one field."""
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "Validation failed", "details": [{"field": field, "message": message}]}


async def make_product(api: httpx.AsyncClient, user: TestUser, name: str = "Steel Shaft 25mm") -> dict[str, Any]:
    """A product (the catalog part a plan inspects) with the smallest bill and routing."""
    material = ok(await api.post(f"{V1}/materials", headers=user.headers, json={
        "material_code": unique("MTL"), "name": "Steel bar 30mm", "unit_of_measure": "kg", "standard_cost": 4.0}),
        201)
    return ok(await api.post(f"{V1}/products", headers=user.headers, json={
        "product_code": unique("PRD"), "name": name,
        "bom": [{"material_id": material["id"], "quantity_per_unit": 1.2}],
        "operations": [{"sequence": 10, "name": "Turn", "standard_minutes_per_unit": 4}]}), 201)


def shaft_characteristic(**changes: Any) -> dict[str, Any]:
    """The contract's example characteristic."""
    return {"name": "Shaft Diameter", "type": "dimensional", "specification": "25mm", "tolerance": "±0.1mm",
            "usl": 25.1, "lsl": 24.9, "measurement_method": "Micrometer", **changes}


def length_characteristic() -> dict[str, Any]:
    return {"name": "Shaft Length", "type": "dimensional", "specification": "500mm", "tolerance": "±15mm",
            "usl": 515, "lsl": 485, "measurement_method": "Caliper"}


def plan_body(product_id: int, *characteristics: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The contract's plan: one first-piece point measuring the given characteristics (the shaft's diameter)."""
    return {"product_id": product_id, "name": "Shaft inspection",
            "inspection_points": [{"name": "First Piece Inspection", "frequency_type": "first_piece",
                                   "characteristics": list(characteristics) or [shaft_characteristic()]}],
            **changes}


async def make_plan(api: httpx.AsyncClient, user: TestUser, product_id: int, *characteristics: dict[str, Any],
                    **changes: Any) -> dict[str, Any]:
    return ok(await api.post(PLANS, json=plan_body(product_id, *characteristics, **changes), headers=user.headers),
              201)


def make_work_order(session_factory: sessionmaker[Session], product_id: int,
                    status: str = "in_progress") -> tuple[int, str]:
    """A work order row (its API is another area's): (id, number)."""
    with session_scope(session_factory) as session:
        row = WorkOrder(work_order_number=unique("WO-TEST"), part_id=product_id, quantity_ordered=10, status=status)
        session.add(row)
        session.flush()
        return row.id, row.work_order_number


def plans_of(session_factory: sessionmaker[Session], product_id: int) -> int:
    with session_scope(session_factory) as session:
        return session.scalar(select(func.count()).where(InspectionPlan.part_id == product_id)) or 0


@pytest.fixture
async def engineer(make_user: MakeUser) -> TestUser:
    return await make_user("engineer")


async def test_the_contracts_plan_is_created_and_listed_as_the_contract_shows_it(api, engineer, make_user,
                                                                               session_factory):
    product = await make_product(api, engineer)
    created = await make_plan(api, engineer, product["id"])

    point = created["inspection_points"][0]
    characteristic = point["characteristics"][0]
    assert created == {
        "id": created["id"], "product_id": product["id"], "product_name": "Steel Shaft 25mm",
        "name": "Shaft inspection", "is_active": True,
        "inspection_points": [{
            "id": point["id"], "name": "First Piece Inspection", "frequency_type": "first_piece",
            "characteristics": [{"id": characteristic["id"], "name": "Shaft Diameter", "type": "dimensional",
                                 "specification": "25mm", "tolerance": "±0.1mm", "usl": 25.1, "lsl": 24.9,
                                 "measurement_method": "Micrometer"}]}]}
    assert all(isinstance(i, int) for i in (created["id"], point["id"], characteristic["id"]))

    inspector = await make_user("inspector")  # the floor reads plans
    assert ok(await api.get(f"{PLANS}/{created['id']}", headers=inspector.headers)) == created
    listed = ok(await api.get(PLANS, params={"product_id": product["id"]}, headers=inspector.headers))
    assert listed == {"inspection_plans": [created], "total": 1, "page": 1, "per_page": 50}
    with session_scope(session_factory) as session:
        actions = session.scalars(select(AuditEntry.action_type).where(
            AuditEntry.entity_type == "inspection_plan", AuditEntry.entity_id == str(created["id"])))
        assert list(actions) == ["INSPECTION_PLAN_CREATED"]


async def test_points_and_characteristics_keep_the_order_given(api, engineer):
    product = await make_product(api, engineer)
    body = {"product_id": product["id"], "inspection_points": [
        {"name": "First Piece Inspection", "frequency_type": "first_piece",
         "characteristics": [shaft_characteristic(), length_characteristic()]},
        {"name": "Surface check", "frequency_type": "sampling",
         "characteristics": [{"name": "Scratches", "type": "visual", "specification": "none visible at 30cm"}]},
        {"name": "Final", "frequency_type": "final",
         "characteristics": [{"name": "Hardness", "type": "material", "lsl": 58}]}]}
    created = ok(await api.post(PLANS, json=body, headers=engineer.headers), 201)

    assert created["name"] is None and created["is_active"] is True
    assert [(p["name"], p["frequency_type"], [c["name"] for c in p["characteristics"]])
            for p in created["inspection_points"]] == [
        ("First Piece Inspection", "first_piece", ["Shaft Diameter", "Shaft Length"]),
        ("Surface check", "sampling", ["Scratches"]), ("Final", "final", ["Hardness"])]
    scratches = created["inspection_points"][1]["characteristics"][0]
    assert scratches == {"id": scratches["id"], "name": "Scratches", "type": "visual",
                         "specification": "none visible at 30cm", "tolerance": None, "usl": None, "lsl": None,
                         "measurement_method": None}
    hardness = created["inspection_points"][2]["characteristics"][0]
    assert (hardness["lsl"], hardness["usl"]) == (58, None)


async def test_the_list_filters_by_product_and_activity_and_pages(api, engineer):
    shaft, gear = await make_product(api, engineer), await make_product(api, engineer, "Gear 40T")
    active = await make_plan(api, engineer, shaft["id"])
    retired = await make_plan(api, engineer, shaft["id"], is_active=False)
    other = await make_plan(api, engineer, gear["id"])

    def ids(page: dict[str, Any]) -> list[int]:
        return [p["id"] for p in page["inspection_plans"]]

    everything = ok(await api.get(PLANS, params={"product_id": shaft["id"]}, headers=engineer.headers))
    assert ids(everything) == [active["id"], retired["id"]] and everything["total"] == 2
    only_active = ok(await api.get(PLANS, params={"product_id": shaft["id"], "active_only": True},
                                   headers=engineer.headers))
    assert ids(only_active) == [active["id"]] and only_active["total"] == 1
    second = ok(await api.get(PLANS, params={"product_id": shaft["id"], "per_page": 1, "page": 2},
                              headers=engineer.headers))
    assert second == {"inspection_plans": [retired], "total": 2, "page": 2, "per_page": 1}
    assert ids(ok(await api.get(PLANS, params={"product_id": gear["id"]}, headers=engineer.headers))) == [other["id"]]

    unfiltered = ok(await api.get(PLANS, params={"per_page": 100}, headers=engineer.headers))
    assert unfiltered["total"] >= 3 and ids(unfiltered) == sorted(ids(unfiltered))
    too_many = await api.get(PLANS, params={"per_page": 101}, headers=engineer.headers)
    assert too_many.status_code == 400 and [d["field"] for d in too_many.json()["details"]] == ["query.per_page"]


async def test_a_page_is_read_in_the_same_statements_whatever_it_holds(api, engineer, engine: Engine):
    one, many = await make_product(api, engineer), await make_product(api, engineer)
    await make_plan(api, engineer, one["id"])
    for _ in range(4):
        await make_plan(api, engineer, many["id"], shaft_characteristic(), length_characteristic())

    async def statements(product_id: int) -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "inspection" in statement:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = ok(await api.get(PLANS, params={"product_id": product_id}, headers=engineer.headers))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page["total"] == len(page["inspection_plans"]) > 0
        return len(seen)

    # the count, the page of plans, their points with their characteristics
    assert await statements(one["id"]) == await statements(many["id"]) == 3


async def test_refusals_name_the_field_and_write_nothing(api, engineer, session_factory):
    product = await make_product(api, engineer)
    part = ok(await api.post(f"{V1}/parts", json={"part_number": unique("P"), "name": "A plain part"},
                             headers=engineer.headers), 201)

    cases = [
        (plan_body(2_000_000_000), "product_id", "Product 2000000000 not found"),
        (plan_body(part["id"]), "product_id", f"Product {part['id']} not found"),  # a part, not a product
        (plan_body(product["id"], length_characteristic(), shaft_characteristic(usl=24.9)),
         "inspection_points.0.characteristics.1.usl", "usl 24.9 must be greater than lsl 24.9"),
        (plan_body(product["id"], shaft_characteristic(usl=24.0)),
         "inspection_points.0.characteristics.0.usl", "usl 24.0 must be greater than lsl 24.9"),
    ]
    for body, field, message in cases:
        refused(await api.post(PLANS, json=body, headers=engineer.headers), field, message)

    point = plan_body(product["id"])["inspection_points"][0]
    malformed = [
        plan_body(product["id"], inspection_points=[]),
        plan_body(product["id"], inspection_points=[{**point, "characteristics": []}]),
        plan_body(product["id"], inspection_points=[{**point, "frequency_type": "hourly"}]),
        plan_body(product["id"], shaft_characteristic(type="colour")),
        plan_body(product["id"], shaft_characteristic(name="")),
        plan_body(product["id"], shaft_characteristic(usl="NaN")),
        plan_body(product["id"], shaft_characteristic(usl=25.1234567)),  # finer than the stored scale
        {k: v for k, v in plan_body(product["id"]).items() if k != "product_id"},
        {**plan_body(product["id"]), "colour": "red"},
    ]
    for body in malformed:
        answer = await api.post(PLANS, json=body, headers=engineer.headers)
        assert answer.status_code == 400 and answer.json()["error"] == "Validation failed", answer.text
        assert all(set(d) == {"field", "message"} for d in answer.json()["details"])
    assert plans_of(session_factory, product["id"]) == plans_of(session_factory, part["id"]) == 0

    missing = await api.get(f"{PLANS}/2147483647", headers=engineer.headers)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Inspection plan 2147483647 not found", "code": "NOT_FOUND",
                              "reason": {"id": "2147483647"}}


async def test_who_may_define_and_read_plans(api, engineer, make_user, session_factory):
    product = await make_product(api, engineer)
    for role in ("inspector", "operator", "supervisor"):
        answer = await api.post(PLANS, json=plan_body(product["id"]), headers=(await make_user(role)).headers)
        assert answer.status_code == 403 and set(answer.json()) >= {"error"}, (role, answer.text)
    assert plans_of(session_factory, product["id"]) == 0
    for role in ("quality_manager", "admin"):
        await make_plan(api, await make_user(role), product["id"])
    assert (await api.get(PLANS, headers=(await make_user("store")).headers)).status_code == 403
    assert (await api.get(PLANS)).status_code == 401
