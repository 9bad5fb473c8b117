"""Bodies of the ERP contract's inspections (manufacturing-erp.md §6.8): inspection plans, inspection logs and SPC
charts. Numbers are JSON numbers, times UTC with `Z`, dates `YYYY-MM-DD`."""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.contracts.types import DbId, SafeBody
from api.contracts.wire import Money, UtcDateTime
from services.mes.inspections import CharacteristicType, FrequencyType, JudgedMeasurement, Plan, RecordedLog, Result
from services.mes.spc_charts import SpcChart

SpecLimit = Annotated[Decimal, Field(max_digits=16, decimal_places=6)]  # inspection_characteristics.usl/lsl
MEASURE_MAX = Decimal("9999999999.999999")  # inspection_measurements.measured_value: Numeric(16, 6)
MeasuredValue = Annotated[Decimal, Field(ge=-MEASURE_MAX, le=MEASURE_MAX)]  # finite; stored rounded to 6 places
CONTROL_PLACES = Decimal("0.0001")  # control limits as the alerts' messages show them (spc.fmt)


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC (as every time this API writes); any time is kept in UTC."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as err:
        raise ValueError("Datetime is out of range once in UTC") from err


class Body(SafeBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CharacteristicIn(Body):
    name: str = Field(min_length=1, max_length=200)
    type: CharacteristicType
    specification: str | None = Field(None, max_length=100)  # "25mm"
    tolerance: str | None = Field(None, max_length=50)  # "±0.1mm"
    usl: SpecLimit | None = None  # upper specification limit, inclusive; none: open
    lsl: SpecLimit | None = None  # lower specification limit, inclusive; none: open
    measurement_method: str | None = Field(None, max_length=100)


class InspectionPointIn(Body):
    name: str = Field(min_length=1, max_length=200)
    frequency_type: FrequencyType
    characteristics: list[CharacteristicIn] = Field(min_length=1, max_length=100)


class InspectionPlanCreate(Body):
    """`POST /api/v1/inspection-plans`: at least one point, each measuring at least one characteristic."""

    product_id: DbId
    name: str | None = Field(None, max_length=200)
    is_active: bool = True
    inspection_points: list[InspectionPointIn] = Field(min_length=1, max_length=100)


class CharacteristicOut(BaseModel):
    id: int
    name: str
    type: str
    specification: str | None
    tolerance: str | None
    usl: Money | None
    lsl: Money | None
    measurement_method: str | None


class InspectionPointOut(BaseModel):
    id: int
    name: str
    frequency_type: str
    characteristics: list[CharacteristicOut]


class InspectionPlanOut(BaseModel):
    id: int
    product_id: int
    product_name: str
    name: str | None
    is_active: bool
    inspection_points: list[InspectionPointOut]


class InspectionPlanListOut(BaseModel):
    inspection_plans: list[InspectionPlanOut]
    total: int
    page: int
    per_page: int


def plan_out(plan: Plan) -> InspectionPlanOut:
    return InspectionPlanOut(
        id=plan.id, product_id=plan.product_id, product_name=plan.product_name, name=plan.name,
        is_active=plan.is_active,
        inspection_points=[InspectionPointOut(
            id=point.id, name=point.name, frequency_type=point.frequency_type,
            characteristics=[CharacteristicOut(id=c.id, name=c.name, type=c.type, specification=c.specification,
                                               tolerance=c.tolerance, usl=c.usl, lsl=c.lsl,
                                               measurement_method=c.measurement_method)
                             for c in point.characteristics])
            for point in plan.points])


class MeasurementIn(Body):
    characteristic_id: DbId
    measured_value: MeasuredValue
    within_tolerance: bool | None = None  # the client's judgement; the server judges, and says when it disagrees


class InspectionLogCreate(Body):
    """`POST /api/v1/inspection-logs`: `inspector_id` defaults to the caller, `inspected_at` to now."""

    work_order_id: DbId
    inspection_point_id: DbId
    inspected_at: Annotated[datetime, AfterValidator(_utc)] | None = None
    measurements: list[MeasurementIn] = Field(min_length=1, max_length=200)
    notes: str | None = Field(None, max_length=4000)
    inspector_id: DbId | None = None


class InspectorOut(BaseModel):
    id: int
    name: str


class MeasurementOut(BaseModel):
    characteristic: str
    measured_value: Money
    specification: str | None
    result: Result
    # present (true) only on a measurement whose client judgement (`within_tolerance`) the server overruled
    overruled: bool = Field(False, exclude_if=lambda overruled: not overruled)


class InspectionLogOut(BaseModel):
    id: int
    inspection_point_name: str
    work_order_number: str
    overall_result: Result
    inspected_at: UtcDateTime
    inspector: InspectorOut
    measurements: list[MeasurementOut]
    ncr_number: str | None  # the NCR a failed inspection raised


def measurement_out(measurement: JudgedMeasurement) -> MeasurementOut:
    return MeasurementOut(characteristic=measurement.characteristic, measured_value=measurement.measured_value,
                          specification=measurement.specification, result=measurement.result,
                          overruled=measurement.overruled)


def log_out(log: RecordedLog, ncr_number: str | None = None) -> InspectionLogOut:
    return InspectionLogOut(id=log.id, inspection_point_name=log.point_name, work_order_number=log.work_order_number,
                            overall_result=log.overall_result, inspected_at=log.inspected_at,
                            inspector=InspectorOut(id=log.inspector_id, name=log.inspector_name),
                            measurements=[measurement_out(m) for m in log.measurements], ncr_number=ncr_number)


class PeriodOut(BaseModel):
    start: date
    end: date


class ControlLimitsOut(BaseModel):
    ucl: Money
    lcl: Money
    center_line: Money


class CapabilityOut(BaseModel):
    cp: Money | None  # none: no variation, or not both specification limits
    cpk: Money | None  # none: no variation, or no specification limit
    interpretation: str


class DataPointOut(BaseModel):
    timestamp: UtcDateTime
    value: Money


class AlertOut(BaseModel):
    type: str
    message: str
    detected_at: UtcDateTime


class SpcChartOut(BaseModel):
    characteristic_id: int
    characteristic_name: str
    specification: str | None
    period: PeriodOut
    control_limits: ControlLimitsOut
    capability: CapabilityOut
    data_points: list[DataPointOut]
    alerts: list[AlertOut]


def spc_round(value: Decimal) -> Decimal:
    """A control limit at 4 decimals (half up), as the alerts' messages show them."""
    return value.quantize(CONTROL_PLACES, rounding=ROUND_HALF_UP)


def spc_chart_out(found: SpcChart) -> SpcChartOut:
    chart = found.chart
    return SpcChartOut(
        characteristic_id=found.characteristic_id, characteristic_name=found.characteristic_name,
        specification=found.specification, period=PeriodOut(start=found.start, end=found.end),
        control_limits=ControlLimitsOut(ucl=spc_round(chart.ucl), lcl=spc_round(chart.lcl),
                                        center_line=spc_round(chart.center_line)),
        capability=CapabilityOut(cp=chart.cp, cpk=chart.cpk, interpretation=chart.interpretation),
        data_points=[DataPointOut(timestamp=point.measured_at, value=point.value) for point in chart.points],
        alerts=[AlertOut(type=alert.type, message=alert.message, detected_at=alert.detected_at)
                for alert in chart.alerts])
