"""ERP inspection plans and inspection logs (manufacturing-erp.md §6.8).

A plan says how a product (a catalog part flagged `is_product`) is inspected: its inspection points (first piece,
in process, final, ...) in order, each with the characteristics measured there and their specification limits.
An inspection log is one inspection of a work order at one point of a plan of the work order's product: the
server judges every measured value against its characteristic's limits (inclusive; an open limit never fails),
overrules a client's `within_tolerance` that disagrees (kept as `client_judgement`), and the log fails when any
measurement fails. `record_log` writes the log and nothing else: what a failed log sets off (an NCR, the work
order on hold) is the caller's next step. Never commits."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.permissions import Perm, has_permission
from core.timeutil import utcnow
from models.catalog import Part
from models.identity import User
from models.mes import (
    InspectionCharacteristic,
    InspectionLog,
    InspectionMeasurement,
    InspectionPlan,
    InspectionPoint,
    WorkOrder,
)
from services.catalog import master_data as catalog
from services.common.guards import field_error
from services.common.queries import given

FrequencyType = Literal["first_piece", "in_process", "final", "sampling", "every_unit"]
CharacteristicType = Literal["dimensional", "visual", "functional", "material", "other"]
Result = Literal["pass", "fail"]

LOGGABLE_STATUSES = ("released", "in_progress", "on_hold", "completed")  # a work order being made or just made
FUTURE_SLACK = timedelta(minutes=5)  # clocks of inspection stations drift; beyond this a time is a mistake
MEASURE_SCALE = Decimal("0.000001")  # the scale of inspection_measurements.measured_value (Numeric(16, 6))


@dataclass(frozen=True)
class Characteristic:
    id: int
    name: str
    type: str
    specification: str | None
    tolerance: str | None
    usl: Decimal | None
    lsl: Decimal | None
    measurement_method: str | None


@dataclass(frozen=True)
class Point:
    id: int
    name: str
    frequency_type: str
    characteristics: tuple[Characteristic, ...]


@dataclass(frozen=True)
class Plan:
    """A plan as the contract shows it: its product's id and name, its points and characteristics in order."""

    id: int
    product_id: int
    product_name: str
    name: str | None
    is_active: bool
    points: tuple[Point, ...]


@dataclass(frozen=True)
class JudgedMeasurement:
    characteristic_id: int
    characteristic: str
    specification: str | None  # "25mm ±0.1mm": the characteristic's specification and tolerance
    measured_value: Decimal
    result: Result
    client_judgement: bool | None  # the client's `within_tolerance`, kept only where the server overruled it

    @property
    def overruled(self) -> bool:
        return self.client_judgement is not None


@dataclass(frozen=True)
class RecordedLog:
    """A written inspection log with what its answer and the follow-up of a failure need."""

    id: int
    work_order_id: int
    work_order_number: str
    point_id: int
    point_name: str
    inspector_id: int
    inspector_name: str
    inspected_at: datetime
    overall_result: Result
    notes: str | None
    measurements: tuple[JudgedMeasurement, ...]
    ncr_id: int | None = None

    @property
    def failed(self) -> bool:
        return self.overall_result == "fail"


def specification_text(specification: str | None, tolerance: str | None) -> str | None:
    """What a characteristic's answer calls its specification: "25mm ±0.1mm" from "25mm" and "±0.1mm"."""
    return " ".join(part for part in (specification, tolerance) if part) or None


def within_limits(value: Decimal, lsl: Decimal | None, usl: Decimal | None) -> bool:
    """A value on a limit is within it; an open (missing) limit never fails."""
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


# --- plans ----------------------------------------------------------------------------------------------------

def create_plan(session: Session, actor_id: int, values: dict[str, Any]) -> Plan:
    """The plan, its points (in the order given) and their characteristics, in the caller's transaction. A
    product_id that names no product, or a usl not above its lsl, is refused with the field that holds it."""
    product = session.get(Part, values["product_id"])
    if product is None or not product.is_product:
        raise field_error("product_id", f"Product {values['product_id']} not found")
    _check_limits(values["inspection_points"])
    plan = InspectionPlan(part_id=product.id, name=values.get("name"), is_active=values["is_active"],
                          created_by_id=actor_id)
    session.add(plan)
    session.flush()
    points = [InspectionPoint(plan_id=plan.id, sequence=index, name=point["name"],
                              frequency_type=point["frequency_type"])
              for index, point in enumerate(values["inspection_points"], start=1)]
    session.add_all(points)
    session.flush()
    session.add_all([InspectionCharacteristic(point_id=row.id, sequence=index, **characteristic)
                     for row, point in zip(points, values["inspection_points"], strict=True)
                     for index, characteristic in enumerate(point["characteristics"], start=1)])
    session.flush()
    catalog.record_created(session, actor_id, plan, "inspection_plan", "INSPECTION_PLAN_CREATED")
    return get_plan(session, plan.id)


def _check_limits(points: list[dict[str, Any]]) -> None:
    for p, point in enumerate(points):
        for c, characteristic in enumerate(point["characteristics"]):
            usl, lsl = characteristic.get("usl"), characteristic.get("lsl")
            if usl is not None and lsl is not None and usl <= lsl:
                raise field_error(f"inspection_points.{p}.characteristics.{c}.usl",
                                  f"usl {usl} must be greater than lsl {lsl}")


def get_plan(session: Session, plan_id: int) -> Plan:
    plans = _plans(session, [InspectionPlan.id == plan_id], 0, 1)
    if not plans:
        raise not_found("Inspection plan", plan_id)
    return plans[0]


def list_plans(session: Session, offset: int, limit: int, product_id: int | None,
               active_only: bool) -> tuple[list[Plan], int]:
    """A page of plans by id, optionally of one product and only the active ones, with the total."""
    conditions = given((product_id, InspectionPlan.part_id == product_id),
                       (True if active_only else None, InspectionPlan.is_active.is_(True)))
    total = catalog.count(session, select(InspectionPlan.id).where(*conditions))
    return _plans(session, conditions, offset, limit), total


def _plans(session: Session, conditions: list[ColumnElement[bool]], offset: int, limit: int) -> list[Plan]:
    """The plans matching `conditions` with their product's name, then the points and characteristics of all of
    them in one query, read as plain rows (no ORM objects)."""
    heads = session.execute(
        select(InspectionPlan.id, InspectionPlan.part_id, Part.name, InspectionPlan.name, InspectionPlan.is_active)
        .join(Part, Part.id == InspectionPlan.part_id).where(*conditions)
        .order_by(InspectionPlan.id).offset(offset).limit(limit)).tuples().all()
    points = _points_of(session, [head[0] for head in heads])
    return [Plan(plan_id, product_id, product_name, name, is_active, tuple(points.get(plan_id, ())))
            for plan_id, product_id, product_name, name, is_active in heads]


def _points_of(session: Session, plan_ids: list[int]) -> dict[int, list[Point]]:
    if not plan_ids:
        return {}
    rows = session.execute(
        select(InspectionPoint.plan_id, InspectionPoint.id, InspectionPoint.name, InspectionPoint.frequency_type,
               InspectionCharacteristic.id, InspectionCharacteristic.name, InspectionCharacteristic.type,
               InspectionCharacteristic.specification, InspectionCharacteristic.tolerance,
               InspectionCharacteristic.usl, InspectionCharacteristic.lsl,
               InspectionCharacteristic.measurement_method)
        .outerjoin(InspectionCharacteristic, InspectionCharacteristic.point_id == InspectionPoint.id)
        .where(InspectionPoint.plan_id.in_(plan_ids))
        .order_by(InspectionPoint.plan_id, InspectionPoint.sequence, InspectionPoint.id,
                  InspectionCharacteristic.sequence, InspectionCharacteristic.id)).tuples()
    heads: dict[int, tuple[int, str, str, int]] = {}
    characteristics: dict[int, list[Characteristic]] = {}
    for plan_id, point_id, point_name, frequency, char_id, *details in rows:
        heads.setdefault(point_id, (point_id, point_name, frequency, plan_id))
        found = characteristics.setdefault(point_id, [])
        if char_id is not None:
            found.append(Characteristic(char_id, *details))
    points: dict[int, list[Point]] = {}
    for point_id, name, frequency, plan_id in heads.values():
        points.setdefault(plan_id, []).append(Point(point_id, name, frequency, tuple(characteristics[point_id])))
    return points


# --- inspection logs ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Inspector:
    id: int
    name: str


def record_log(session: Session, actor_id: int, values: dict[str, Any]) -> RecordedLog:
    """One inspection of a work order at one inspection point, its measurements judged by the server. The work
    order is locked for the transaction (its status cannot change under the log) and must be released, in
    progress, on hold or completed; the point must be in an active plan of the work order's product, every
    characteristic one of that point's (once each), the inspector an active user who logs inspections (the caller
    when none is named), and the time not in the future. Only the log is written: nothing else follows here."""
    inspected_at = _inspection_time(values.get("inspected_at"))
    work_order = _loggable_work_order(session, values["work_order_id"])
    point_name = _point_of_product(session, values["inspection_point_id"], work_order)
    judged = _judge(session, values["inspection_point_id"], values["measurements"])
    inspector = _inspector(session, values.get("inspector_id") or actor_id)
    overall: Result = "fail" if any(m.result == "fail" for m in judged) else "pass"
    log = InspectionLog(work_order_id=work_order.id, point_id=values["inspection_point_id"],
                        inspector_id=inspector.id, inspected_at=inspected_at, overall_result=overall,
                        notes=values.get("notes"))
    session.add(log)
    session.flush()
    session.add_all([InspectionMeasurement(log_id=log.id, characteristic_id=m.characteristic_id,
                                           measured_value=m.measured_value, result=m.result,
                                           client_judgement=m.client_judgement,
                                           measured_at=inspected_at)
                     for m in judged])
    session.flush()
    catalog.record_created(session, actor_id, log, "inspection_log", "INSPECTION_LOGGED")
    return RecordedLog(log.id, work_order.id, work_order.work_order_number, log.point_id, point_name, inspector.id,
                       inspector.name, inspected_at, overall, log.notes, tuple(judged))


def _inspection_time(value: datetime | None) -> datetime:
    """When the inspection happened: now when not said; never later than a few minutes from now."""
    now = utcnow()
    if value is None:
        return now
    if value > now + FUTURE_SLACK:
        raise field_error("inspected_at", f"inspected_at {value.isoformat()} is in the future")
    return value


def _loggable_work_order(session: Session, work_order_id: int) -> WorkOrder:
    """The work order, locked against a concurrent status change (FOR NO KEY UPDATE), in a status that logs."""
    work_order = session.scalar(select(WorkOrder).where(WorkOrder.id == work_order_id)
                                .with_for_update(key_share=True))
    if work_order is None:
        raise field_error("work_order_id", f"Work order {work_order_id} not found")
    if work_order.status not in LOGGABLE_STATUSES:
        raise AppError("INVALID_STATUS", 400, "Cannot log inspection",
                       f"Work order {work_order.work_order_number} is {work_order.status}; inspections are logged "
                       f"on released, in_progress, on_hold or completed work orders")
    return work_order


def _point_of_product(session: Session, point_id: int, work_order: WorkOrder) -> str:
    """The name of the inspection point, which must be in an active plan of the work order's product."""
    row = session.execute(select(InspectionPoint.name, InspectionPlan.id, InspectionPlan.part_id,
                                 InspectionPlan.is_active)
                          .join(InspectionPlan, InspectionPlan.id == InspectionPoint.plan_id)
                          .where(InspectionPoint.id == point_id)).tuples().first()
    if row is None:
        raise field_error("inspection_point_id", f"Inspection point {point_id} not found")
    name, plan_id, product_id, is_active = row
    if product_id != work_order.part_id:
        raise field_error("inspection_point_id", f"Inspection point {point_id} is in an inspection plan of product "
                          f"{product_id}, not of work order {work_order.work_order_number}'s product "
                          f"{work_order.part_id}")
    if not is_active:
        raise field_error("inspection_point_id", f"Inspection point {point_id} is in inactive inspection plan "
                          f"{plan_id}")
    return name


def _judge(session: Session, point_id: int, measurements: list[dict[str, Any]]) -> list[JudgedMeasurement]:
    """Each measured value (at the stored scale) against its characteristic's limits, in the order given."""
    characteristics = {c.id: c for c in session.scalars(
        select(InspectionCharacteristic).where(InspectionCharacteristic.point_id == point_id))}
    seen: set[int] = set()
    judged = []
    for index, measurement in enumerate(measurements):
        characteristic = characteristics.get(measurement["characteristic_id"])
        if characteristic is None:
            raise field_error(f"measurements.{index}.characteristic_id",
                              f"Characteristic {measurement['characteristic_id']} is not measured at inspection "
                              f"point {point_id}")
        if characteristic.id in seen:
            raise field_error(f"measurements.{index}.characteristic_id",
                              f"Characteristic {characteristic.id} appears twice")
        seen.add(characteristic.id)
        value = Decimal(measurement["measured_value"]).quantize(MEASURE_SCALE, rounding=ROUND_HALF_UP)
        passed = within_limits(value, characteristic.lsl, characteristic.usl)
        claimed = measurement.get("within_tolerance")
        judged.append(JudgedMeasurement(characteristic.id, characteristic.name,
                                        specification_text(characteristic.specification, characteristic.tolerance),
                                        value, "pass" if passed else "fail",
                                        claimed if claimed is not None and claimed != passed else None))
    return judged


def _inspector(session: Session, user_id: int) -> _Inspector:
    """The user the log names as its inspector: an active user whose role logs inspections."""
    user = session.get(User, user_id)
    if user is None:
        raise field_error("inspector_id", f"User {user_id} not found")
    if not user.is_active:
        raise field_error("inspector_id", f"User {user_id} is not active")
    if not has_permission(user.role, Perm.LOG_INSPECTIONS, user.is_superuser):
        raise field_error("inspector_id", f"User {user_id} ({user.role}) does not log inspections")
    return _Inspector(user.id, user.full_name or user.username)
