"""What crosses the workflow boundary for preventive maintenance (manufacturing-erp.md §6.7): the PM work order's
lifecycle (`pm-work-order-{id}`, a lifecycle held as data: `pm_work_order`) and the check a PM schedule's Temporal
Schedule runs (`pm-schedule-{id}`). Ids, states and dates only."""

from datetime import date

from pydantic import BaseModel

from dto.activity import ActivityRef
from dto.approvals import DefinedMove, TransitionRequest, TransitionResult

PM_WORK_ORDER = "pm_work_order"  # the entity type: of the definition, the history, the audit trail
PM_CREATED = "create"  # the history's first entry
PM_ESCALATE = "escalate"  # a history entry by the system: past its scheduled date


def pm_work_order_workflow_id(pm_work_order_id: int) -> str:
    return f"pm-work-order-{pm_work_order_id}"


def pm_schedule_id_of(schedule_id: int) -> str:
    """The Temporal Schedule a PM schedule owns (`temporal schedule list` shows it)."""
    return f"pm-schedule-{schedule_id}"


class PmState(BaseModel):
    """What the lifecycle knows of its PM work order; every effect answers it fresh from the database."""

    pm_work_order_id: int
    work_order_number: str
    state: str
    final: bool
    assignee_id: int | None
    assignee_name: str | None
    scheduled_date: date
    escalation_level: int
    version: int
    moves: dict[str, DefinedMove]


class PmWorkOrderInput(BaseModel):
    """`reminder_seconds`: after the scheduled date has passed, how often the supervisors hear of it again (fixed
    at start); `state` is carried over on continue-as-new."""

    pm_work_order_id: int
    reminder_seconds: int
    state: PmState | None = None


class PmRef(BaseModel):
    pm_work_order_id: int


class PmMoved(BaseModel):
    result: TransitionResult
    now: PmState


class PmEscalation(BaseModel):
    pm_work_order_id: int
    level: int
    op_key: str


class PmScheduleCheck(BaseModel):
    """A PM schedule's periodic check (its Temporal Schedule's action); `reminder_seconds` goes to the lifecycle
    of the PM work order it raises."""

    pm_schedule_id: int
    reminder_seconds: int = 86400


class RaisedPm(BaseModel):
    """The PM work order the check made for the schedule's next due date (None: not yet inside the lead time, or
    already made)."""

    pm_work_order_id: int | None = None


LOAD_PM_WORK_ORDER = ActivityRef[PmRef, PmState]("load_pm_work_order", PmState)
TRANSITION_PM_WORK_ORDER = ActivityRef[TransitionRequest, PmMoved]("transition_pm_work_order", PmMoved)
ESCALATE_PM_WORK_ORDER = ActivityRef[PmEscalation, PmState]("escalate_pm_work_order", PmState)
RAISE_DUE_PM = ActivityRef[PmScheduleCheck, RaisedPm]("raise_due_pm", RaisedPm)
