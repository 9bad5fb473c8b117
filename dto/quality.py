"""What crosses the workflow boundary for the ERP NCR reports (manufacturing-erp.md §6.3, §6.4): the lifecycle's
input, the small state its effects answer (the current state, its assignee and the moves the definition allows from
it), and the typed references of its activities. No ORM, no rendered bodies."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from dto.activity import ActivityRef
from dto.approvals import DefinedMove, TransitionRequest, TransitionResult

NCR_REPORT = "ncr_report"  # the entity type: of the workflow definition, the transition history, the audit trail
SUBMIT = "submit"  # the history's first entry: the report raised
ESCALATE = "escalate"  # a history entry by the system: no move within the SLA
APPROVED = "approved"  # reaching it releases a work order held for the NCR
HOLD_CLEARED = "hold_cleared"  # the signal the work order's lifecycle takes (by name: it lives in a higher area)


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


def ncr_report_workflow_id(ncr_id: int) -> str:
    return f"ncr-report-{ncr_id}"


def work_order_workflow_id(work_order_id: int) -> str:
    """The work order's lifecycle (workflows/mes/work_order.py names it the same way)."""
    return f"work-order-{work_order_id}"


class NcrReportState(BaseModel):
    """What the lifecycle knows of its report; every effect answers it fresh from the database."""

    ncr_id: int
    ncr_number: str
    state: str
    final: bool
    role: str | None  # the role owning the state
    assignee_id: int | None
    assignee_name: str | None  # for the refusal that names who the task is assigned to
    severity: str
    work_order_id: int | None
    escalation_level: int
    version: int
    moves: dict[str, DefinedMove]


class NcrReportInput(BaseModel):
    """`sla_seconds` by severity, fixed at start (ERP_NCR_SLA_SECONDS_*); `state` and the SLA's `due_at` are
    carried over on continue-as-new (None: the first effect loads the state, the clock starts then)."""

    ncr_id: int
    sla_seconds: dict[str, int]
    state: NcrReportState | None = None
    due_at: datetime | None = None


class NcrReportRef(BaseModel):
    ncr_id: int


class NcrReportMoved(BaseModel):
    result: TransitionResult
    now: NcrReportState


class NcrReportEscalation(BaseModel):
    ncr_id: int
    level: int  # the escalation level this one raises the report to
    sla_seconds: int
    op_key: str


# The NCR report activities (activities/quality.py): the names their histories record.
LOAD_NCR_REPORT = ActivityRef[NcrReportRef, NcrReportState]("load_ncr_report", NcrReportState)
TRANSITION_NCR_REPORT = ActivityRef[TransitionRequest, NcrReportMoved]("transition_ncr_report", NcrReportMoved)
ESCALATE_NCR_REPORT = ActivityRef[NcrReportEscalation, NcrReportState]("escalate_ncr_report", NcrReportState)
