"""Raising an ERP NCR report (manufacturing-erp.md §6.3): one `non_conformances` row of kind `erp` in the
definition's initial state (`submitted`), assigned to the least loaded holder of that state's role, with the first
entry of its transition history (`submit`) and its photos. The row is inserted under a provisional number and takes
its `NCR-YYYY-NNN` number (the `NCR` sequence every NCR of the one table shares) as its last write, so the sequence
row stays locked only for the commit. Its lifecycle (`ncr-report-{id}`) is started by the caller after the commit.
Never commits."""

from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import AppError
from core.numbering import provisional, yearly_number
from core.timeutil import utcnow
from dto.quality import NCR_REPORT, SUBMIT, Severity, ncr_report_workflow_id
from models.approvals import WorkflowTransition
from models.quality import NcrPhoto, NcrType, NonConformance
from services import audit
from services.approvals import definitions
from services.common.guards import field_error
from services.quality import photos as ncr_photos
from services.quality.assignees import least_loaded_assignee
from services.quality.ncr_report_reads import KIND, by_id
from services.quality.ncr_types import type_by_id, type_named

# The work orders live in a higher area (mes): read by name.
WORK_ORDER_NUMBER = text("SELECT work_order_number FROM work_orders WHERE id = :id")


def raise_ncr(session: Session, *, actor_id: int | None, ncr_type_name: str, severity: str, description: str,
              work_order_id: int | None) -> NonConformance:
    """An NCR report raised by another part of the system (a failed inspection log): the same insert as `POST
    /api/v1/ncr-reports`, without photos. Start its lifecycle after the commit (api/quality/ncr_report_calls.py
    `start_ncr_report_lifecycle`)."""
    report = open_report(session, actor_id=actor_id, ncr_type=type_named(session, ncr_type_name), severity=severity,
                         description=description, work_order_id=work_order_id)
    return numbered(session, report, actor_id)


def create_report(session: Session, *, actor_id: int, ncr_type_id: int, severity: str, description: str,
                  work_order_id: int | None, photos: Sequence[ncr_photos.Photo], stored: list[str]) -> int:
    """`POST /api/v1/ncr-reports`: the report with its (already checked) photos; the keys it stores are appended
    to `stored`, for the caller to remove should the transaction not commit."""
    report = open_report(session, actor_id=actor_id, ncr_type=type_by_id(session, ncr_type_id), severity=severity,
                         description=description, work_order_id=work_order_id)
    ncr_photos.store(session, report.id, photos, stored)
    return numbered(session, report, actor_id).id


def open_report(session: Session, *, actor_id: int | None, ncr_type: NcrType, severity: str, description: str,
                work_order_id: int | None) -> NonConformance:
    """The report in its definition's initial state, assigned, with its first history entry (`submit`)."""
    if severity not in set(Severity):
        raise field_error("severity", f"Severity must be one of {', '.join(Severity)}")
    if work_order_id is not None and session.scalar(WORK_ORDER_NUMBER, {"id": work_order_id}) is None:
        raise field_error("work_order_id", f"Work order {work_order_id} not found")
    definition = definitions.load(session, NCR_REPORT)
    state, now = definition.initial_state, utcnow()
    assignee = least_loaded_assignee(session, definition.role_of(state))
    report = NonConformance(ncr_number=provisional("NCR"), kind=KIND, status=state, title=_title(description),
                            description=description, ncr_type_id=ncr_type.id, severity=severity,
                            work_order_id=work_order_id, created_by_id=actor_id, current_assignee_id=assignee,
                            escalation_level=0, state_entered_at=now)
    session.add(report)
    session.flush()
    session.add(WorkflowTransition(entity_type=NCR_REPORT, entity_id=report.id, transition_code=SUBMIT,
                                   from_state=None, to_state=state, performed_by_id=actor_id, assignee_id=assignee,
                                   performed_at=now, op_key=f"{ncr_report_workflow_id(report.id)}:{SUBMIT}"))
    return report


def numbered(session: Session, report: NonConformance, actor_id: int | None) -> NonConformance:
    """The report takes its number last (everything else is written: the sequence row is locked to the commit),
    then its audit row."""
    session.flush()
    report.ncr_number = yearly_number(session, "NCR")
    audit.record(session, actor_id=actor_id, entity_type=NCR_REPORT, entity_id=report.id,
                 action_type="NCR_REPORT_RAISED", payload_diff=audit.created({
                     "ncr_number": report.ncr_number, "ncr_type_id": report.ncr_type_id, "severity": report.severity,
                     "status": report.status, "work_order_id": report.work_order_id,
                     "current_assignee_id": report.current_assignee_id}))
    session.flush()
    return report


def _title(description: str) -> str:
    first_line = description.strip().splitlines()[0] if description.strip() else "NCR report"
    return first_line[:255]


def add_photos(session: Session, ncr_id: int, actor_id: int, photos: Sequence[ncr_photos.Photo],
               stored: list[str]) -> None:
    """More (already checked) photos on an open report, under its row lock so the per-NCR limit holds however
    many uploads race; a closed or rejected report takes none."""
    report = by_id(session, ncr_id, lock=True)
    if definitions.load(session, NCR_REPORT).is_final(report.status):
        raise AppError("INVALID_STATUS", 400, "Cannot add photos",
                       f"NCR {report.ncr_number} is {report.status}")
    already = int(session.scalar(select(func.count(NcrPhoto.id)).where(NcrPhoto.ncr_id == ncr_id)) or 0)
    ncr_photos.checked([ncr_photos.Upload(name=p.name, data=p.data) for p in photos], already)
    ncr_photos.store(session, ncr_id, photos, stored)
    report.version += 1
    audit.record(session, actor_id=actor_id, entity_type=NCR_REPORT, entity_id=ncr_id, action_type="NCR_PHOTOS_ADDED",
                 payload_diff={"photos": {"old": already, "new": already + len(photos)}})
