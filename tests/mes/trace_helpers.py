"""What the traceability tests share: materials with suppliers, lots, products with a routing, work orders started
and produced, serials, consumption, customers and shipments, all through the API; and a three-level genealogy
(a lot in a motor, the motor in a pump, the pump shipped)."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from tests.conftest import TestUser, eventually, unique
from tests.mes.helpers import V1, ok


def prefix(label: str) -> str:
    """A serial prefix no other test uses: `MOT-1A2B3C4D`."""
    return f"{label}-{uuid.uuid4().hex[:8].upper()}"


def count(session_factory: sessionmaker[Session], model: Any, *conditions: Any) -> int:
    with session_scope(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def material(api: httpx.AsyncClient, admin: TestUser, name: str, code: str | None = None,
                   **fields: Any) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/materials", headers=admin.headers, json={
        "material_code": code or unique("MTL"), "name": name, "unit_of_measure": "kg", "standard_cost": 2,
        **fields}), 201)


async def supplier(api: httpx.AsyncClient, admin: TestUser, name: str) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/suppliers", headers=admin.headers, json={"name": name, "code": unique("SUP")}),
              201)


async def lot(api: httpx.AsyncClient, user: TestUser, material_id: int, quantity: float = 500,
              receipt_date: str = "2025-11-06", **fields: Any) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/lot-numbers", headers=user.headers, json={
        "material_id": material_id, "quantity": quantity, "receipt_date": receipt_date, **fields}), 201)


async def product(api: httpx.AsyncClient, admin: TestUser, name: str, material_id: int,
                  operations: tuple[str, ...] = ("Assembly", "Testing")) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/products", headers=admin.headers, json={
        "product_code": unique("PRD"), "name": name, "unit_of_measure": "ea",
        "bom": [{"material_id": material_id, "quantity_per_unit": 1}],
        "operations": [{"sequence": 10 * (i + 1), "name": op, "standard_minutes_per_unit": 5}
                       for i, op in enumerate(operations)]}), 201)


async def started(api: httpx.AsyncClient, supervisor: TestUser, made: dict[str, Any],
                  quantity: int) -> dict[str, Any]:
    order = ok(await api.post(f"{V1}/work-orders", headers=supervisor.headers, json={
        "product_id": made["id"], "quantity_ordered": quantity}), 201)
    ok(await api.post(f"{V1}/work-orders/{order['id']}/start", headers=supervisor.headers))
    return order


async def produce(api: httpx.AsyncClient, operator: TestUser, order: dict[str, Any], quantity: int,
                  operation_id: int | None = None) -> None:
    ok(await api.post(f"{V1}/production-logs", headers=operator.headers, json={
        "work_order_id": order["id"], "quantity_completed": quantity, "hours_worked": 1,
        **({"operation_id": operation_id} if operation_id else {})}), 201)


async def completed(api: httpx.AsyncClient, user: TestUser, order: dict[str, Any]) -> None:
    """Wait until the work order's lifecycle completed it (its production reached the quantity ordered)."""

    async def status() -> str:
        return ok(await api.get(f"{V1}/work-orders/{order['id']}", headers=user.headers))["status"]

    await eventually(status, expected="completed")


async def serials(api: httpx.AsyncClient, user: TestUser, order: dict[str, Any], quantity: int,
                  serial_prefix: str) -> list[str]:
    answer = ok(await api.post(f"{V1}/serial-numbers/generate", headers=user.headers, json={
        "work_order_id": order["id"], "product_id": order["product_id"], "quantity": quantity,
        "serial_prefix": serial_prefix}), 201)
    return list(answer["serial_numbers"])


async def consume(api: httpx.AsyncClient, user: TestUser, order: dict[str, Any], **body: Any) -> httpx.Response:
    return await api.post(f"{V1}/work-orders/{order['id']}/material-consumption", headers=user.headers, json=body)


async def customer(api: httpx.AsyncClient, user: TestUser, name: str, email: str | None = None,
                   phone: str | None = None) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/customers", headers=user.headers, json={
        "name": name, "contact_email": email, "contact_phone": phone}), 201)


async def ship(api: httpx.AsyncClient, user: TestUser, customer_id: int, ship_date: str = "2025-11-08",
               **body: Any) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/shipments", headers=user.headers, json={
        "customer_id": customer_id, "ship_date": ship_date, **body}), 201)


@dataclass
class Genealogy:
    """Copper lot → 2 motors (WO m) → 2 pumps (WO p, with a housing lot) → pump 1 to Acme, pump 2 to Bolt (who
    has no e-mail)."""

    copper_lot: str
    housing_lot: str
    motor_order: dict[str, Any]
    pump_order: dict[str, Any]
    motors: list[str]
    pumps: list[str]
    acme: dict[str, Any]
    bolt: dict[str, Any]
    shipments: list[dict[str, Any]]
    operator: TestUser
    viewer: TestUser


async def three_levels(api: httpx.AsyncClient, make_user: Any, admin: TestUser) -> Genealogy:
    supervisor = await make_user("supervisor")
    operator = await make_user("operator", full_name="John Operator")
    warehouse = await make_user("warehouse")
    copper = await material(api, admin, "Copper wire")
    housing = await material(api, admin, "Housing")
    abc, xyz = await supplier(api, admin, "ABC Motors Inc"), await supplier(api, admin, "XYZ Castings")
    copper_lot = await lot(api, warehouse, copper["id"], 100, "2025-11-01", supplier_id=abc["id"])
    housing_lot = await lot(api, warehouse, housing["id"], 50, "2025-11-02", supplier_id=xyz["id"])

    motor = await product(api, admin, "Motor", copper["id"], ("Winding",))
    motor_order = await started(api, supervisor, motor, 2)
    ok(await consume(api, operator, motor_order, lot_number=copper_lot["lot_number"], quantity=12.5), 201)
    await produce(api, operator, motor_order, 2, motor["operations"][0]["id"])
    motors = await serials(api, operator, motor_order, 2, prefix("MOT"))

    pump = await product(api, admin, "Hydraulic Pump", housing["id"])
    pump_order = await started(api, supervisor, pump, 2)
    for serial in motors:
        ok(await consume(api, operator, pump_order, serial_number=serial), 201)
    ok(await consume(api, operator, pump_order, lot_number=housing_lot["lot_number"], quantity=2), 201)
    assembly, testing = (op["id"] for op in pump["operations"])
    await produce(api, operator, pump_order, 1, assembly)
    await produce(api, operator, pump_order, 1, testing)
    await completed(api, supervisor, pump_order)
    pumps = await serials(api, operator, pump_order, 2, prefix("PUMP"))

    acme = await customer(api, warehouse, unique("Acme Manufacturing"), f"{unique('john')}@acme.example.com",
                          "+1-555-0100")
    bolt = await customer(api, warehouse, unique("Bolt Industries"))
    shipments = [await ship(api, warehouse, acme["id"], serial_numbers=[pumps[0]]),
                 await ship(api, warehouse, bolt["id"], "2025-11-09", serial_numbers=[pumps[1]])]
    return Genealogy(copper_lot["lot_number"], housing_lot["lot_number"], motor_order, pump_order, motors, pumps,
                     acme, bolt, shipments, operator, await make_user("viewer"))
