"""Bodies of preventive maintenance (manufacturing-erp.md §6.7): PM schedules and PM work orders."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.contracts.types import DbId
from api.contracts.wire import Money, UtcDateTime
from api.mes.schemas import Body
from api.mes.work_order_schemas import HistoryEntryOut
from api.transitions import PersonOut

Task = Annotated[str, Field(min_length=1, max_length=500)]


class PmScheduleChange(Body):
    """`PATCH /api/v1/pm-schedules/{id}`: any of the fields; `is_active` false pauses its Temporal Schedule."""

    pm_type: str | None = Field(default=None, min_length=1, max_length=50)
    frequency_type: Literal["calendar", "meter"] | None = None
    frequency_value: int | None = Field(default=None, ge=1, le=100_000)
    frequency_unit: Literal["days", "weeks", "months", "hours"] | None = None
    last_pm_date: date | None = None
    lead_time_days: int | None = Field(default=None, ge=0, le=365)
    estimated_duration_hours: Decimal | None = Field(default=None, ge=0, le=1000, max_digits=6, decimal_places=2)
    assigned_technician_id: DbId | None = None
    checklist: list[Task] | None = Field(default=None, max_length=50)
    is_active: bool | None = None


class PmScheduleCreate(Body):
    machine_id: DbId
    pm_type: str = Field(min_length=1, max_length=50)
    frequency_type: Literal["calendar", "meter"]
    frequency_value: int = Field(ge=1, le=100_000)
    frequency_unit: Literal["days", "weeks", "months", "hours"]
    last_pm_date: date | None = None
    lead_time_days: int = Field(default=0, ge=0, le=365)
    estimated_duration_hours: Decimal | None = Field(default=None, ge=0, le=1000, max_digits=6, decimal_places=2)
    assigned_technician_id: DbId | None = None
    checklist: list[Task] = Field(default_factory=list, max_length=50)
    is_active: bool = True


class PmScheduleOut(BaseModel):
    id: int
    machine_id: int
    machine_name: str
    pm_type: str
    frequency_type: str
    frequency_value: int
    frequency_unit: str
    last_pm_date: date | None
    next_due_date: date | None
    status: Literal["scheduled", "due", "overdue"]
    lead_time_days: int
    estimated_duration_hours: Money
    assigned_technician: PersonOut | None
    checklist: list[str]
    is_active: bool
    version: int


class PmScheduleListOut(BaseModel):
    pm_schedules: list[PmScheduleOut]
    total: int
    page: int
    per_page: int


class PmWorkOrderCreate(Body):
    pm_schedule_id: DbId
    scheduled_date: date
    assigned_technician_id: DbId | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    notes: str | None = Field(default=None, max_length=4000)


class ChecklistItemOut(BaseModel):
    id: int
    task: str
    completed: bool


class ChecklistTick(Body):
    completed: bool


class PmWorkOrderOut(BaseModel):
    """The contract's answer, with the priority, notes, escalation and times."""

    id: int
    work_order_number: str
    work_order_type: Literal["preventive_maintenance"]
    machine_id: int
    machine_name: str
    pm_schedule_id: int | None
    pm_type: str
    status: str
    scheduled_date: date
    priority: str
    notes: str | None
    escalation_level: int
    checklist: list[ChecklistItemOut]
    assigned_technician: PersonOut | None
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    created_at: UtcDateTime


class PmWorkOrderDetailOut(PmWorkOrderOut):
    history: list[HistoryEntryOut]


class PmWorkOrderListOut(BaseModel):
    pm_work_orders: list[PmWorkOrderOut]
    total: int
    page: int
    per_page: int
