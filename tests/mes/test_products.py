"""ERP products (`/api/v1/products`, an addition the contract's work orders need): a product over the one item
master with its bill of materials and routing, its standard costs, the ERP's list and error shapes, who may
write."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from core.settings import get_settings
from models.audit import AuditEntry
from tests.conftest import MakeUser, TestUser, unique
from tests.mes.equipment_helpers import make_machine, make_plant

V1 = "/api/v1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def material(api: httpx.AsyncClient, user: TestUser, standard_cost: float, unit: str = "kg") -> dict[str, Any]:
    body = {"material_code": unique("MTL"), "name": "Steel Plate 10mm", "unit_of_measure": unit,
            "standard_cost": standard_cost}
    return ok(await api.post(f"{V1}/materials", json=body, headers=user.headers), 201)


@pytest.fixture
async def engineer(make_user: MakeUser) -> TestUser:
    return await make_user("engineer")


@pytest.fixture(scope="module")
async def welder(api, admin) -> dict[str, Any]:
    """The machine the routing's Weld runs on."""
    return await make_machine(api, admin, await make_plant(api, admin), name="Welding cell")


def product_body(steel: dict[str, Any], paint: dict[str, Any], machine_id: int) -> dict[str, Any]:
    return {"product_code": unique("PRD"), "name": "Bracket assembly", "unit_of_measure": "ea",
            "bom": [{"material_id": steel["id"], "quantity_per_unit": 2.5},
                    {"material_id": paint["id"], "quantity_per_unit": 0.2}],
            "operations": [{"sequence": 10, "name": "Cut", "standard_minutes_per_unit": 6, "labor_rate_per_hour": 30},
                           {"sequence": 20, "name": "Weld", "machine_id": machine_id,
                            "standard_minutes_per_unit": 12}]}


async def test_a_product_is_created_with_its_bill_routing_and_standard_costs(api, engineer, make_user,
                                                                            session_factory, welder):
    steel, paint = await material(api, engineer, 150.0), await material(api, engineer, 12.5, unit="l")
    body = product_body(steel, paint, welder["id"])
    created = ok(await api.post(f"{V1}/products", json=body, headers=engineer.headers), 201)

    assert created["product_code"] == body["product_code"] and created["name"] == "Bracket assembly"
    assert created["unit_of_measure"] == "ea"
    assert [(line["material_id"], line["quantity_per_unit"], line["unit_of_measure"], line["standard_cost"])
            for line in created["bom"]] == [(steel["id"], 2.5, "kg", 150), (paint["id"], 0.2, "l", 12.5)]
    assert [(op["sequence"], op["name"], op["machine_id"], op["labor_rate_per_hour"], op["uses_default_labor_rate"])
            for op in created["operations"]] == [(10, "Cut", None, 30, False), (20, "Weld", welder["id"], 25, True)]
    # 2.5 × 150 + 0.2 × 12.5 = 377.50; 6 min at 30/h + 12 min at the default 25/h = 3.00 + 5.00
    assert created["material_cost_per_unit"] == 377.5 and created["labor_cost_per_unit"] == 8
    assert get_settings().default_labor_rate_per_hour == Decimal("25")

    # one BOM table: the aerospace view of the same part shows the same lines
    lines = ok(await api.get(f"{V1}/parts/{created['id']}/materials", headers=engineer.headers))
    rows = lines["items"] if isinstance(lines, dict) else lines
    assert sorted(line["material_id"] for line in rows) == sorted([steel["id"], paint["id"]])

    operator = await make_user("operator")  # the floor reads products; it does not define them
    assert ok(await api.get(f"{V1}/products/{created['id']}", headers=operator.headers)) == created
    with session_scope(session_factory) as session:
        actions = session.scalars(select(AuditEntry.action_type).where(AuditEntry.entity_type == "product",
                                                                       AuditEntry.entity_id == str(created["id"])))
        assert list(actions) == ["PRODUCT_CREATED"]


async def test_the_list_is_the_erp_page_with_search(api, engineer, welder):
    steel, paint = await material(api, engineer, 10.0), await material(api, engineer, 1.0)
    body = product_body(steel, paint, welder["id"])
    first = ok(await api.post(f"{V1}/products", json=body, headers=engineer.headers), 201)
    second = ok(await api.post(f"{V1}/products", json={**body, "product_code": unique("PRD")},
                               headers=engineer.headers), 201)

    page = ok(await api.get(f"{V1}/products", params={"search": first["product_code"]}, headers=engineer.headers))
    assert page == {"products": [first], "total": 1, "page": 1, "per_page": 50}
    everything = ok(await api.get(f"{V1}/products", params={"per_page": 100}, headers=engineer.headers))
    assert everything["per_page"] == 100 and everything["total"] >= 2
    ids = [p["id"] for p in everything["products"]]
    assert ids == sorted(ids) and {first["id"], second["id"]} <= set(ids)

    too_many = await api.get(f"{V1}/products", params={"per_page": 101}, headers=engineer.headers)
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "Validation failed"
    assert [d["field"] for d in too_many.json()["details"]] == ["query.per_page"]


async def test_refusals_name_the_field_in_the_erp_shape(api, engineer, welder):
    steel, paint = await material(api, engineer, 10.0), await material(api, engineer, 1.0)
    body = product_body(steel, paint, welder["id"])
    ok(await api.post(f"{V1}/products", json=body, headers=engineer.headers), 201)

    cases = [
        (body, "product_code", f"Product code {body['product_code']} already exists"),
        ({**body, "product_code": unique("PRD"), "bom": [{"material_id": 2_000_000_000, "quantity_per_unit": 1}]},
         "bom.0.material_id", "Material 2000000000 not found"),
        ({**body, "product_code": unique("PRD"), "bom": [body["bom"][0], body["bom"][0]]},
         "bom.1.material_id", f"Material {steel['id']} appears twice"),
        ({**body, "product_code": unique("PRD"), "operations": [body["operations"][0], body["operations"][0]]},
         "operations.1.sequence", "Sequence 10 appears twice"),
        ({**body, "product_code": unique("PRD"),
          "operations": [body["operations"][0], {**body["operations"][1], "machine_id": 2_000_000_000}]},
         "operations.1.machine_id", "Machine 2000000000 not found"),
    ]
    for sent, field, message in cases:
        answer = await api.post(f"{V1}/products", json=sent, headers=engineer.headers)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"error": "Validation failed", "details": [{"field": field, "message": message}]}

    negative_time = [{**body["operations"][0], "standard_minutes_per_unit": -1}]
    for bad in ({**body, "bom": []}, {**body, "operations": negative_time},
                {**body, "bom": [{"material_id": steel["id"], "quantity_per_unit": 0}]}, {**body, "colour": "red"}):
        answer = await api.post(f"{V1}/products", json={**bad, "product_code": unique("PRD")},
                                headers=engineer.headers)
        assert answer.status_code == 400 and answer.json()["error"] == "Validation failed", answer.text


async def test_who_may_write_and_what_is_not_a_product(api, engineer, make_user, welder):
    steel, paint = await material(api, engineer, 10.0), await material(api, engineer, 1.0)
    operator = await make_user("operator")
    body = product_body(steel, paint, welder["id"])
    refused = await api.post(f"{V1}/products", json=body, headers=operator.headers)
    assert refused.status_code == 403 and set(refused.json()) >= {"error"}
    assert (await api.get(f"{V1}/products", headers=(await make_user("store")).headers)).status_code == 403

    supervisor = await make_user("supervisor")
    ok(await api.post(f"{V1}/products", json=body, headers=supervisor.headers), 201)

    part = ok(await api.post(f"{V1}/parts", json={"part_number": unique("P"), "name": "A plain part"},
                             headers=engineer.headers), 201)
    missing = await api.get(f"{V1}/products/{part['id']}", headers=engineer.headers)  # a part, not a product
    assert missing.status_code == 404 and missing.json()["error"] == f"Product {part['id']} not found"
    assert (await api.get(f"{V1}/products/2147483647", headers=engineer.headers)).status_code == 404
