"""Bodies of the ERP contract's equipment (manufacturing-erp.md §6.5, §6.6, §6.7's downtime and maintenance metrics):
plants, machines and their status, downtime reasons and events, utilization, shifts, handovers, shift performance and
maintenance metrics (plants, the reasons' create, the shifts' create and the handovers' list and acknowledgement are
additions). Numbers are JSON numbers, times UTC with `Z`, dates `YYYY-MM-DD`, times of day `HH:MM`."""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, PlainSerializer, WithJsonSchema, field_validator

from api.contracts.types import DbId
from api.contracts.wire import Money, UtcDateTime
from api.mes.schemas import Body
from services.mes.intervals import DAY_NAMES

MachineStatus = Literal["available", "running", "setup", "down", "maintenance"]
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Notes = Annotated[str, Field(max_length=4000)]
DayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC (as every time this API writes); any time is kept in UTC."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as err:
        raise ValueError("Datetime is out of range once in UTC") from err


def _time_of_day(value: object) -> time:
    """`HH:MM` (00:00 to 23:59)."""
    if not isinstance(value, str):
        raise ValueError("must be a time of day as HH:MM")
    hours, _, minutes = value.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError("must be a time of day as HH:MM")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("must be a time of day between 00:00 and 23:59")
    return time(int(hours), int(minutes))


UtcIn = Annotated[datetime, AfterValidator(_utc)]
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day),
                      WithJsonSchema({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "examples": ["06:00"]})]
HhMm = Annotated[time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]


class PersonOut(BaseModel):
    id: int
    name: str


# --- plants ---------------------------------------------------------------------------------------------------------

class PlantCreate(Body):
    code: Code
    name: Name
    is_active: bool = True


class PlantOut(BaseModel):
    id: int
    code: str
    name: str
    is_active: bool
    created_at: UtcDateTime


class PlantListOut(BaseModel):
    plants: list[PlantOut]
    total: int
    page: int
    per_page: int


# --- machines -------------------------------------------------------------------------------------------------------

class MachineCreate(Body):
    machine_code: Code
    name: Name
    plant_id: DbId
    capacity_units_per_hour: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]


class WorkOrderRefOut(BaseModel):
    id: int
    work_order_number: str


class MachineOut(BaseModel):
    id: int
    machine_code: str
    name: str
    plant_id: int
    plant_name: str
    status: MachineStatus
    current_work_order: WorkOrderRefOut | None  # the work order in progress on it
    capacity_units_per_hour: Money
    utilization_percent: Money  # over the last 7 days
    last_maintenance_date: date | None
    next_maintenance_due: date | None


class MachineListOut(BaseModel):
    machines: list[MachineOut]
    total: int
    page: int
    per_page: int


class MachineStatusIn(Body):
    """`PUT /api/v1/machines/{id}/status`: `down` needs a `reason_code`; `maintenance` is preventive unless one is
    given."""

    status: MachineStatus
    reason_code: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    notes: Notes | None = None


class MachineStatusOut(BaseModel):
    id: int
    machine_code: str
    status: MachineStatus
    downtime_started_at: UtcDateTime | None  # none unless down or in maintenance
    downtime_reason: str | None


# --- downtime -------------------------------------------------------------------------------------------------------

class DowntimeReasonCreate(Body):
    code: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_]*$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    is_planned: bool = False


class DowntimeReasonOut(BaseModel):
    id: int
    code: str
    name: str
    is_planned: bool
    is_active: bool


class DowntimeReasonListOut(BaseModel):
    downtime_reasons: list[DowntimeReasonOut]
    total: int
    page: int
    per_page: int


class DowntimeEventCreate(Body):
    machine_id: DbId
    work_order_id: DbId | None = None
    downtime_reason_code: Annotated[str, Field(min_length=1, max_length=50)]
    started_at: UtcIn
    ended_at: UtcIn
    notes: Notes | None = None


class DowntimeEventOut(BaseModel):
    id: int
    machine_id: int
    machine_name: str
    work_order_id: int | None
    downtime_reason: str
    downtime_reason_code: str
    duration_minutes: int
    started_at: UtcDateTime
    ended_at: UtcDateTime
    notes: str | None
    mtbf_hours: Money | None  # the machine's, over the last MAINTENANCE_METRICS_DAYS; none without a failure
    mttr_hours: Money | None


# --- utilization and maintenance metrics ----------------------------------------------------------------------------

class PeriodOut(BaseModel):
    start: date
    end: date


class UtilizationMetricsOut(BaseModel):
    available_time_minutes: int
    productive_time_minutes: int
    utilization_percent: Money
    downtime_minutes: int
    setup_time_minutes: int


class DowntimeShareOut(BaseModel):
    reason: str
    minutes: int
    occurrences: int


class UtilizationOut(BaseModel):
    machine_id: int
    machine_name: str
    period: PeriodOut
    metrics: UtilizationMetricsOut
    downtime_breakdown: list[DowntimeShareOut]


class MaintenanceMetricsValuesOut(BaseModel):
    mtbf_hours: Money | None  # none without an unplanned downtime
    mttr_hours: Money | None
    pm_compliance_percent: Money | None  # none when no PM work order was due in the period
    total_downtime_minutes: int
    unplanned_downtime_percent: Money | None  # of the available time; none when nothing was available


class ParetoOut(BaseModel):
    reason: str
    minutes: int
    percent: Money


class MaintenanceMetricsOut(BaseModel):
    period: PeriodOut
    metrics: MaintenanceMetricsValuesOut
    downtime_pareto: list[ParetoOut]


# --- shifts ---------------------------------------------------------------------------------------------------------

class ShiftCreate(Body):
    """`POST /api/v1/shifts`: a shift whose end is not after its start spans midnight; the break is shorter than the
    shift."""

    plant_id: DbId
    name: Name
    start_time: TimeOfDay
    end_time: TimeOfDay
    break_duration_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0
    active_days: list[DayName] = Field(min_length=1, max_length=7)
    production_target_units: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    oee_target_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = None
    is_active: bool = True

    @field_validator("active_days")
    @classmethod
    def _once_each(cls, days: list[str]) -> list[str]:
        repeated = sorted({day for day in days if days.count(day) > 1}, key=DAY_NAMES.index)
        if repeated:
            raise ValueError(f"each day once: {', '.join(repeated)} appears more than once")
        return days


class ShiftOut(BaseModel):
    id: int
    plant_id: int
    name: str
    start_time: HhMm
    end_time: HhMm
    break_duration_minutes: int
    active_days: list[str]
    production_target_units: int
    oee_target_percent: Money | None
    is_active: bool


class ShiftListOut(BaseModel):
    shifts: list[ShiftOut]
    total: int
    page: int
    per_page: int


class ShiftMetricsOut(BaseModel):
    target_units: int
    actual_units: int
    target_attainment_percent: Money | None  # none when the shift has no target
    oee_percent: Money
    downtime_minutes: int
    quality_fpy_percent: Money


class ShiftPerformanceOut(BaseModel):
    shift_id: int
    shift_name: str
    date: date
    metrics: ShiftMetricsOut
    comparison: dict[str, str]  # vs_<shift>_avg, vs_<other shift>_same_day: "+2.5%", "-8.3%" or "n/a"


# --- handovers ------------------------------------------------------------------------------------------------------

class WipWorkOrderIn(Body):
    work_order_id: DbId
    status: Annotated[str, Field(min_length=1, max_length=30)]
    percent_complete: Annotated[Money, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class HandoverIssueIn(Body):
    machine_id: DbId | None = None
    description: Annotated[str, Field(min_length=1, max_length=2000)]


class WipWorkOrderOut(BaseModel):
    work_order_id: int
    status: str
    percent_complete: Money


class HandoverIssueOut(BaseModel):
    machine_id: int | None
    description: str


class ShiftHandoverCreate(Body):
    shift_id: DbId
    date: date
    handover_notes: Annotated[str, Field(min_length=1, max_length=10_000)]
    wip_work_orders: list[WipWorkOrderIn] = Field(default_factory=list, max_length=100)
    issues: list[HandoverIssueIn] = Field(default_factory=list, max_length=100)


class ShiftHandoverOut(BaseModel):
    id: int
    shift_id: int
    shift_name: str
    date: date
    logged_by: PersonOut
    handover_notes: str
    wip_work_orders: list[WipWorkOrderOut]
    issues: list[HandoverIssueOut]
    acknowledged_by: PersonOut | None
    acknowledged_at: UtcDateTime | None
    reminded_at: UtcDateTime | None  # when the supervisors were told nobody had acknowledged it
    created_at: UtcDateTime


class ShiftHandoverListOut(BaseModel):
    shift_handovers: list[ShiftHandoverOut]
    total: int
    page: int
    per_page: int
