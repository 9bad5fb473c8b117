"""What the ERP work-order tests share: a product with a bill and a routing, work orders over it."""

from typing import Any

import httpx

from tests.conftest import TestUser, unique

V1 = "/api/v1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def make_product(api: httpx.AsyncClient, engineer: TestUser) -> dict[str, Any]:
    """A product costing 10.80 of material a unit (2 × 5.00 + 0.5 × 1.60), routed Cut (rate 30/h) then Weld (the
    default rate)."""
    steel = ok(await api.post(f"{V1}/materials", headers=engineer.headers, json={
        "material_code": unique("STL"), "name": "Steel bar", "unit_of_measure": "kg", "standard_cost": 5}), 201)
    paint = ok(await api.post(f"{V1}/materials", headers=engineer.headers, json={
        "material_code": unique("PNT"), "name": "Primer", "unit_of_measure": "l", "standard_cost": 1.6}), 201)
    return ok(await api.post(f"{V1}/products", headers=engineer.headers, json={
        "product_code": unique("SHAFT"), "name": "Steel Shaft 25mm", "unit_of_measure": "ea",
        "bom": [{"material_id": steel["id"], "quantity_per_unit": 2},
                {"material_id": paint["id"], "quantity_per_unit": 0.5}],
        "operations": [{"sequence": 10, "name": "Cut", "standard_minutes_per_unit": 3, "labor_rate_per_hour": 30},
                       {"sequence": 20, "name": "Weld", "standard_minutes_per_unit": 6}]}), 201)


async def make_work_order(api: httpx.AsyncClient, supervisor: TestUser, product: dict[str, Any],
                          quantity: int = 200, **fields: Any) -> dict[str, Any]:
    body = {"product_id": product["id"], "quantity_ordered": quantity, "due_date": "2026-12-31",
            "priority": "high", **fields}
    return ok(await api.post(f"{V1}/work-orders", headers=supervisor.headers, json=body), 201)


async def transition(api: httpx.AsyncClient, user: TestUser, work_order: dict[str, Any], code: str,
                     comment: str | None = None) -> httpx.Response:
    return await api.post(f"{V1}/workflows/work_order/{work_order['id']}/transition/{code}", headers=user.headers,
                          json={"comment": comment} if comment else {})


async def started(api: httpx.AsyncClient, supervisor: TestUser, product: dict[str, Any],
                  quantity: int = 200) -> dict[str, Any]:
    order = await make_work_order(api, supervisor, product, quantity)
    ok(await api.post(f"{V1}/work-orders/{order['id']}/start", headers=supervisor.headers))
    return order
