"""What crosses the workflow boundary for the ERP's work orders (`work-order-{id}`): small pydantic models, ids
and statuses, never a record (the API reads bodies from PostgreSQL)."""

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel

from core.permissions import Perm
from dto.activity import ActivityRef
from dto.identity import Actor


class WorkOrderStatus(StrEnum):
    PLANNED = "planned"
    RELEASED = "released"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


S = WorkOrderStatus
FINISHED = (S.CLOSED, S.CANCELLED)


class Move(NamedTuple):
    """A work order's transition: the statuses it leaves from, where it goes (None: back to where it was held
    from) and the permission it needs."""

    allowed_from: tuple[WorkOrderStatus, ...]
    to: WorkOrderStatus | None
    permission: Perm


MOVES: dict[str, Move] = {
    "release": Move((S.PLANNED,), S.RELEASED, Perm.MANAGE_WORK_ORDERS),
    "start": Move((S.PLANNED, S.RELEASED), S.IN_PROGRESS, Perm.START_WORK_ORDERS),
    "complete": Move((S.IN_PROGRESS,), S.COMPLETED, Perm.MANAGE_WORK_ORDERS),
    "hold": Move((S.PLANNED, S.RELEASED, S.IN_PROGRESS), S.ON_HOLD, Perm.MANAGE_WORK_ORDERS),
    "resume": Move((S.ON_HOLD,), None, Perm.MANAGE_WORK_ORDERS),
    "cancel": Move((S.PLANNED, S.RELEASED, S.IN_PROGRESS, S.ON_HOLD), S.CANCELLED, Perm.MANAGE_WORK_ORDERS),
    "close": Move((S.COMPLETED,), S.CLOSED, Perm.MANAGE_WORK_ORDERS),
}


class CreateWorkOrder(BaseModel):
    work_order_id: int
    body: dict[str, Any]  # the validated create body (product_id, quantity_ordered, due_date, depends_on …)
    actor: Actor


class WorkOrderMove(BaseModel):
    """A transition to apply (`code` one of MOVES); `actor` None: the lifecycle itself (the ordered quantity was
    reached, the NCR that held it was approved). `ncr_id`: the NCR a hold waits for."""

    work_order_id: int = 0
    code: str
    actor: Actor | None = None
    comment: str | None = None
    ncr_id: int | None = None
    op_key: str = ""


class DependencyChange(BaseModel):
    """What a planned or released work order waits for from now on (replaces the list)."""

    work_order_id: int = 0
    depends_on: list[int]
    actor: Actor
    op_key: str = ""


class WorkOrderView(BaseModel):
    """A work order as its lifecycle needs to know it after an effect."""

    work_order_id: int
    work_order_number: str
    status: WorkOrderStatus
    version: int
    quantity_ordered: int
    quantity_completed: int
    waiting_on: list[int] = []  # dependencies not yet completed
    dependents: list[int] = []  # work orders waiting on this one (told when it completes)
    hold_ncr_id: int | None = None
    previous_status: WorkOrderStatus | None = None
    performed_by_id: int | None = None
    performed_at: datetime | None = None


class Progress(BaseModel):
    """A production log's news for the lifecycle: the total after it (signals may arrive out of order)."""

    quantity_completed: int
    quantity_ordered: int


class WorkOrderLifecycleInput(BaseModel):
    work_order_id: int
    view: WorkOrderView | None = None  # carried over a continue-as-new


CREATE_WORK_ORDER = ActivityRef[CreateWorkOrder, WorkOrderView]("create_work_order", WorkOrderView)
MOVE_WORK_ORDER = ActivityRef[WorkOrderMove, WorkOrderView]("move_work_order", WorkOrderView)
SET_WORK_ORDER_DEPENDENCIES = ActivityRef[DependencyChange, WorkOrderView]("set_work_order_dependencies",
                                                                          WorkOrderView)
