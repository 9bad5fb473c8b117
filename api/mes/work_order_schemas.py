"""Bodies of the ERP's work orders and production logs (manufacturing-erp.md §6.2; the create, list and detail are
additions the contract's calls need). Numbers are JSON numbers, times UTC with `Z`."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.contracts.types import DbId
from api.contracts.wire import Money, UtcDateTime
from api.mes.schemas import Body
from api.transitions import PersonOut
from dto.mes import WorkOrderStatus

Units = Annotated[int, Field(ge=1, le=10_000_000)]


class WorkOrderCreate(Body):
    product_id: DbId
    quantity_ordered: Units
    due_date: date | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    plant_id: DbId | None = None
    machine_id: DbId | None = None
    depends_on: list[DbId] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, max_length=4000)


class DependenciesIn(Body):
    depends_on: list[DbId] = Field(max_length=50)


class WorkOrderRef(BaseModel):
    id: int
    work_order_number: str
    status: WorkOrderStatus


class WorkOrderSummaryOut(BaseModel):
    id: int
    work_order_number: str
    product_id: int
    product_code: str
    product_name: str
    status: WorkOrderStatus
    priority: str
    quantity_ordered: int
    quantity_completed: int
    progress_percent: int
    due_date: date | None
    plant_id: int | None
    machine_id: int | None
    created_at: UtcDateTime


class CostsOut(BaseModel):
    material_cost: Money
    labor_cost: Money
    total_cost: Money


class RoutingStepOut(BaseModel):
    id: int
    sequence: int
    name: str
    machine_id: int | None
    standard_minutes_per_unit: Money


class LogsSummaryOut(BaseModel):
    count: int
    hours_worked: Money
    last_logged_at: UtcDateTime | None


class HoldOut(BaseModel):
    reason: str | None
    ncr_id: int | None
    held_from: str | None


class HistoryEntryOut(BaseModel):
    transition_code: str
    from_state: str | None
    to_state: str
    performed_by: PersonOut | None
    comment: str | None
    performed_at: UtcDateTime


class WorkOrderOut(WorkOrderSummaryOut):
    version: int
    notes: str | None
    costs: CostsOut
    dependencies: list[WorkOrderRef]
    dependents: list[WorkOrderRef]
    operations: list[RoutingStepOut]
    logs_summary: LogsSummaryOut
    hold: HoldOut | None
    started_at: UtcDateTime | None
    started_by: PersonOut | None
    created_by: PersonOut | None
    released_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    closed_at: UtcDateTime | None
    cancelled_at: UtcDateTime | None
    updated_at: UtcDateTime
    history: list[HistoryEntryOut]


class WorkOrderListOut(BaseModel):
    work_orders: list[WorkOrderSummaryOut]
    total: int
    page: int
    per_page: int


class StartedOut(BaseModel):
    """The contract's answer to `start`."""

    id: int
    work_order_number: str
    status: WorkOrderStatus
    started_at: UtcDateTime | None
    started_by: PersonOut | None


class ProductionLogCreate(Body):
    work_order_id: DbId
    operation_id: DbId | None = None
    quantity_completed: Units
    hours_worked: Decimal = Field(default=Decimal(0), ge=0, le=1000, max_digits=6, decimal_places=2)
    notes: str | None = Field(default=None, max_length=4000)


class ProductionLogOut(BaseModel):
    """The contract's 201 body."""

    id: int
    work_order_id: int
    work_order_number: str
    quantity_completed: int
    cumulative_completed: int
    quantity_ordered: int
    progress_percent: int
    material_cost_added: Money
    labor_cost_added: Money
    logged_at: UtcDateTime


class OperationRefOut(BaseModel):
    id: int
    name: str | None
    sequence: int | None


class ProductionLogEntryOut(BaseModel):
    id: int
    work_order_id: int
    operation: OperationRefOut | None
    operator: PersonOut
    quantity_completed: int
    cumulative_completed: int
    hours_worked: Money
    material_cost_added: Money
    labor_cost_added: Money
    notes: str | None
    logged_at: UtcDateTime


class ProductionLogListOut(BaseModel):
    production_logs: list[ProductionLogEntryOut]
    total: int
    page: int
    per_page: int
