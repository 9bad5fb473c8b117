"""ERP inspection logs (manufacturing-erp.md §6.8, `POST /api/v1/inspection-logs`): the contract's example, the
server's judgement (inclusive limits, open limits, a client's `within_tolerance` overruled, one failure failing the
log), who may name another inspector, and every refusal in the ERP shape with nothing written."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from models.audit import AuditEntry
from models.identity import User
from models.mes import InspectionLog, InspectionMeasurement
from tests.conftest import MakeUser, TestUser
from tests.mes.test_inspection_plans import (
    length_characteristic,
    make_plan,
    make_product,
    make_work_order,
    ok,
    refused,
    shaft_characteristic,
)

LOGS = "/api/v1/inspection-logs"


def logs_of(session_factory: sessionmaker[Session], work_order_id: int) -> int:
    with session_scope(session_factory) as session:
        return session.scalar(select(func.count()).where(InspectionLog.work_order_id == work_order_id)) or 0


class Shop:
    """A product with the contract's plan (diameter 24.9–25.1, length 485–515 at the first-piece point), an
    in-progress work order of it, and the people."""

    def __init__(self, product: dict[str, Any], plan: dict[str, Any], work_order: tuple[int, str],
                 inspector: TestUser) -> None:
        self.product, self.plan, self.inspector = product, plan, inspector
        self.work_order_id, self.work_order_number = work_order
        self.point = plan["inspection_points"][0]
        self.diameter, self.length = (c["id"] for c in self.point["characteristics"])

    def body(self, *measurements: tuple[int, Any], **changes: Any) -> dict[str, Any]:
        return {"work_order_id": self.work_order_id, "inspection_point_id": self.point["id"],
                "measurements": [{"characteristic_id": c, "measured_value": v} for c, v in measurements]
                or [{"characteristic_id": self.diameter, "measured_value": 25.05}], **changes}


@pytest.fixture
async def shop(api: httpx.AsyncClient, make_user: MakeUser, session_factory: sessionmaker[Session]) -> Shop:
    engineer = await make_user("engineer")
    product = await make_product(api, engineer)
    plan = await make_plan(api, engineer, product["id"], shaft_characteristic(), length_characteristic())
    return Shop(product, plan, make_work_order(session_factory, product["id"]),
                await make_user("inspector", full_name="Jane Inspector"))


async def test_the_contracts_example_is_logged_and_answered_as_the_contract_shows(api, shop, session_factory):
    body = {"work_order_id": shop.work_order_id, "inspection_point_id": shop.point["id"],
            "inspected_at": "2025-11-06T10:30:00Z",
            "measurements": [{"characteristic_id": shop.diameter, "measured_value": 25.05, "within_tolerance": True},
                             {"characteristic_id": shop.length, "measured_value": 510, "within_tolerance": True}],
            "notes": "All measurements within spec", "inspector_id": shop.inspector.id}
    logged = ok(await api.post(LOGS, json=body, headers=shop.inspector.headers), 201)

    assert logged == {
        "id": logged["id"], "inspection_point_name": "First Piece Inspection",
        "work_order_number": shop.work_order_number, "overall_result": "pass",
        "inspected_at": "2025-11-06T10:30:00Z", "inspector": {"id": shop.inspector.id, "name": "Jane Inspector"},
        "measurements": [
            {"characteristic": "Shaft Diameter", "measured_value": 25.05, "specification": "25mm ±0.1mm",
             "result": "pass"},
            {"characteristic": "Shaft Length", "measured_value": 510, "specification": "500mm ±15mm",
             "result": "pass"}],
        "ncr_number": None}
    with session_scope(session_factory) as session:
        log = session.get(InspectionLog, logged["id"])
        assert log is not None
        assert (log.work_order_id, log.point_id, log.inspector_id, log.overall_result, log.notes, log.ncr_id) == (
            shop.work_order_id, shop.point["id"], shop.inspector.id, "pass", "All measurements within spec", None)
        rows = session.execute(select(InspectionMeasurement.characteristic_id, InspectionMeasurement.measured_value,
                                      InspectionMeasurement.result, InspectionMeasurement.client_judgement,
                                      InspectionMeasurement.measured_at)
                               .where(InspectionMeasurement.log_id == log.id).order_by(InspectionMeasurement.id))
        at = datetime(2025, 11, 6, 10, 30, tzinfo=UTC)
        assert [tuple(r) for r in rows] == [(shop.diameter, Decimal("25.05"), "pass", None, at),
                                            (shop.length, Decimal("510"), "pass", None, at)]
        actions = session.scalars(select(AuditEntry.action_type).where(
            AuditEntry.entity_type == "inspection_log", AuditEntry.entity_id == str(log.id)))
        assert list(actions) == ["INSPECTION_LOGGED"]


async def test_the_server_judges_with_inclusive_limits_and_overrules_the_client(api, shop, session_factory):
    # On the limits is within them; the client's "within tolerance" on 25.2 is overruled, and so is its "out of
    # tolerance" on 500; one failure fails the whole log.
    body = shop.body(inspected_at="2025-11-06T11:00:00+01:00", measurements=[
        {"characteristic_id": shop.diameter, "measured_value": 25.2, "within_tolerance": True},
        {"characteristic_id": shop.length, "measured_value": 500, "within_tolerance": False}])
    logged = ok(await api.post(LOGS, json=body, headers=shop.inspector.headers), 201)
    assert logged["overall_result"] == "fail" and logged["inspected_at"] == "2025-11-06T10:00:00Z"
    assert [(m["characteristic"], m["measured_value"], m["result"], m.get("overruled"))
            for m in logged["measurements"]] == [("Shaft Diameter", 25.2, "fail", True),
                                                 ("Shaft Length", 500, "pass", True)]
    with session_scope(session_factory) as session:
        stored = session.execute(select(InspectionMeasurement.result, InspectionMeasurement.client_judgement)
                                 .where(InspectionMeasurement.log_id == logged["id"])
                                 .order_by(InspectionMeasurement.id)).tuples().all()
        assert stored == [("fail", True), ("pass", False)]

    for value, result in ((25.1, "pass"), (24.9, "pass"), (25.1000001, "pass"), (25.100001, "fail"), (24.8, "fail")):
        answer = ok(await api.post(LOGS, json=shop.body((shop.diameter, value)), headers=shop.inspector.headers), 201)
        assert (answer["overall_result"], answer["measurements"][0]["result"]) == (result, result), value
        assert "overruled" not in answer["measurements"][0]  # no client judgement: nothing to overrule


async def test_an_open_limit_never_fails_and_an_unspecified_characteristic_has_no_specification(
        api, make_user, session_factory):
    engineer = await make_user("engineer")
    product = await make_product(api, engineer)
    plan = await make_plan(api, engineer, product["id"], {"name": "Hardness", "type": "material", "lsl": 58},
                           {"name": "Burrs", "type": "visual"})
    hardness, burrs = (c["id"] for c in plan["inspection_points"][0]["characteristics"])
    work_order_id, _ = make_work_order(session_factory, product["id"], status="released")
    inspector = await make_user("inspector")
    body = {"work_order_id": work_order_id, "inspection_point_id": plan["inspection_points"][0]["id"],
            "measurements": [{"characteristic_id": hardness, "measured_value": 9_999_999_999},
                             {"characteristic_id": burrs, "measured_value": -1e9, "within_tolerance": True}]}
    before = datetime.now(UTC)
    logged = ok(await api.post(LOGS, json=body, headers=inspector.headers), 201)
    assert [(m["result"], m["specification"], m.get("overruled")) for m in logged["measurements"]] == [
        ("pass", None, None), ("pass", None, None)]
    assert logged["inspector"] == {"id": inspector.id, "name": inspector.username}  # the caller, no full name
    inspected_at = datetime.fromisoformat(logged["inspected_at"])
    assert before - timedelta(seconds=1) <= inspected_at <= datetime.now(UTC)  # now, when not said


async def test_every_loggable_status_logs_and_the_others_cannot(api, shop, session_factory):
    for status in ("released", "on_hold", "completed"):
        work_order_id, _ = make_work_order(session_factory, shop.product["id"], status=status)
        ok(await api.post(LOGS, json=shop.body(work_order_id=work_order_id), headers=shop.inspector.headers), 201)
    for status in ("planned", "cancelled", "closed"):
        work_order_id, number = make_work_order(session_factory, shop.product["id"], status=status)
        answer = await api.post(LOGS, json=shop.body(work_order_id=work_order_id), headers=shop.inspector.headers)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {
            "error": "Cannot log inspection", "code": "INVALID_STATUS",
            "reason": f"Work order {number} is {status}; inspections are logged on released, in_progress, "
                      f"on_hold or completed work orders"}
        assert logs_of(session_factory, work_order_id) == 0


async def test_refusals_name_the_field_and_write_nothing(api, shop, make_user, session_factory):
    engineer = await make_user("engineer")
    other_product = await make_product(api, engineer, "Gear 40T")
    other_plan = await make_plan(api, engineer, other_product["id"])
    retired = await make_plan(api, engineer, shop.product["id"], is_active=False)
    operator = await make_user("operator")
    inspector_headers = shop.inspector.headers
    quality_manager = await make_user("quality_manager")
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()

    cases = [
        (shop.body(work_order_id=2_000_000_000), "work_order_id", "Work order 2000000000 not found"),
        (shop.body(inspection_point_id=2_000_000_000), "inspection_point_id", "Inspection point 2000000000 not found"),
        (shop.body(inspection_point_id=other_plan["inspection_points"][0]["id"]), "inspection_point_id",
         f"Inspection point {other_plan['inspection_points'][0]['id']} is in an inspection plan of product "
         f"{other_product['id']}, not of work order {shop.work_order_number}'s product {shop.product['id']}"),
        (shop.body(inspection_point_id=retired["inspection_points"][0]["id"]), "inspection_point_id",
         f"Inspection point {retired['inspection_points'][0]['id']} is in inactive inspection plan {retired['id']}"),
        (shop.body((other_plan["inspection_points"][0]["characteristics"][0]["id"], 25)),
         "measurements.0.characteristic_id",
         f"Characteristic {other_plan['inspection_points'][0]['characteristics'][0]['id']} is not measured at "
         f"inspection point {shop.point['id']}"),
        (shop.body((shop.diameter, 25), (shop.length, 500), (shop.diameter, 25.01)),
         "measurements.2.characteristic_id", f"Characteristic {shop.diameter} appears twice"),
        (shop.body(inspected_at=soon), "inspected_at", f"inspected_at {soon} is in the future"),
    ]
    for body, field, message in cases:
        refused(await api.post(LOGS, json=body, headers=inspector_headers), field, message)
    departed = await make_user("inspector")
    with session_scope(session_factory) as session:
        session.execute(update(User).where(User.id == departed.id).values(is_active=False))
    on_behalf = [
        (shop.body(inspector_id=2_000_000_000), "inspector_id", "User 2000000000 not found"),
        (shop.body(inspector_id=departed.id), "inspector_id", f"User {departed.id} is not active"),
        (shop.body(inspector_id=operator.id), "inspector_id",
         f"User {operator.id} (operator) does not log inspections"),
    ]
    for body, field, message in on_behalf:
        refused(await api.post(LOGS, json=body, headers=quality_manager.headers), field, message)

    malformed = [
        shop.body(measurements=[]),
        shop.body((shop.diameter, "twenty-five")),
        shop.body((shop.diameter, 1e10)),
        shop.body((shop.diameter, True)),
        shop.body(inspected_at="yesterday"),
        shop.body(inspected_at="0001-01-01T00:00:00+05:00"),  # before the first instant UTC can say
        {k: v for k, v in shop.body().items() if k != "work_order_id"},
        shop.body(colour="red"),
    ]
    for body in malformed:
        answer = await api.post(LOGS, json=body, headers=inspector_headers)
        assert answer.status_code == 400 and answer.json()["error"] == "Validation failed", answer.text
    for raw in (b"NaN", b"Infinity"):
        content = (b'{"work_order_id": %d, "inspection_point_id": %d, "measurements": '
                   b'[{"characteristic_id": %d, "measured_value": %s}]}'
                   % (shop.work_order_id, shop.point["id"], shop.diameter, raw))
        answer = await api.post(LOGS, content=content, headers={**inspector_headers,
                                                                "content-type": "application/json"})
        assert answer.status_code == 400 and answer.json()["details"][0]["field"] == "measurements.0.measured_value"
    assert logs_of(session_factory, shop.work_order_id) == 0

    nearly_now = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()  # a station clock a little ahead
    ok(await api.post(LOGS, json=shop.body(inspected_at=nearly_now), headers=inspector_headers), 201)


async def test_who_may_log_and_for_whom(api, shop, make_user, session_factory):
    other_inspector = await make_user("inspector", full_name="Ravi Inspector")
    answer = await api.post(LOGS, json=shop.body(inspector_id=other_inspector.id), headers=shop.inspector.headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "Only a quality manager or an administrator logs an inspection for another "
                                      "inspector", "code": "ACCESS_DENIED", "reason": None}
    for role in ("operator", "engineer", "viewer"):
        assert (await api.post(LOGS, json=shop.body(), headers=(await make_user(role)).headers)).status_code == 403
    assert (await api.post(LOGS, json=shop.body())).status_code == 401
    assert logs_of(session_factory, shop.work_order_id) == 0

    ok(await api.post(LOGS, json=shop.body(inspector_id=shop.inspector.id), headers=shop.inspector.headers), 201)
    for role in ("quality_manager", "admin"):
        logged = ok(await api.post(LOGS, json=shop.body(inspector_id=other_inspector.id),
                                   headers=(await make_user(role)).headers), 201)
        assert logged["inspector"] == {"id": other_inspector.id, "name": "Ravi Inspector"}
        own = ok(await api.post(LOGS, json=shop.body(), headers=(await make_user(role)).headers), 201)
        assert own["overall_result"] == "pass"
    assert logs_of(session_factory, shop.work_order_id) == 5
