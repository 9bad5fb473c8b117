"""The effects of an NCR report's lifecycle (`ncr-report-{id}`), each one transaction run by activities/quality.py:
the report's state as the lifecycle needs it, a transition of the workflow definition (`ncr_report`) and an
escalation. Each is idempotent by its `op_key` (the unique key of the transition history): applied again, it answers
what it did the first time. Never commits."""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.permissions import ADMIN_EQUIVALENTS
from core.timeutil import iso_z, utcnow
from dto.approvals import TransitionRequest, TransitionResult
from dto.quality import ESCALATE, NCR_REPORT, NcrReportEscalation, NcrReportMoved, NcrReportState
from models.approvals import WorkflowTransition
from models.identity import User
from models.quality import NonConformance
from services import audit, notifications
from services.approvals import definitions
from services.approvals.definitions import Definition
from services.common.guards import field_error
from services.identity import people
from services.quality.assignees import least_loaded_assignee
from services.quality.ncr_report_reads import by_id


def invalid_transition(code: str, state: str, allowed: list[str]) -> AppError:
    return AppError("INVALID_STATUS", 400, "Invalid transition",
                    f"Cannot {code} from {state}; allowed: {', '.join(allowed) or 'none'}")


def current_state(session: Session, ncr_id: int) -> NcrReportState:
    return state_of(session, by_id(session, ncr_id), definitions.load(session, NCR_REPORT))


def state_of(session: Session, report: NonConformance, definition: Definition) -> NcrReportState:
    """The small state the lifecycle keeps: where the report is, who has it, and what may happen next."""
    moves = definition.moves_from(report.status)
    assignee = people(session, [report.current_assignee_id]).get(report.current_assignee_id or 0)
    return NcrReportState(ncr_id=report.id, ncr_number=report.ncr_number, state=report.status,
                          final=definition.is_final(report.status), role=definition.role_of(report.status),
                          assignee_id=report.current_assignee_id, assignee_name=assignee["name"] if assignee else None,
                          severity=report.severity or "", work_order_id=report.work_order_id,
                          escalation_level=report.escalation_level, version=report.version, moves=moves)


def apply_transition(session: Session, request: TransitionRequest) -> NcrReportMoved:
    """Move the report (locked) along the transition its lifecycle validated: the new state's assignee is the
    least loaded holder of its role (none in a final state), or for an assignment the user named; the history
    entry and the audit row in the same transaction."""
    report = by_id(session, request.entity_id, lock=True)
    definition = definitions.load(session, NCR_REPORT)
    done = _applied(session, request.op_key)
    if done is not None:
        return NcrReportMoved(result=_result(done, report), now=state_of(session, report, definition))
    rule = definition.transition(request.code)
    if rule is None or request.code not in definition.allowed_from(report.status):
        raise invalid_transition(request.code, report.status, definition.allowed_from(report.status))
    previous, target = report.status, definition.target_of(request.code, report.status)
    assignee = _assignee_for(session, definition, report, target, request)
    entry = _move(session, report, definition, request, target, assignee)
    audit.record(session, actor_id=request.actor.id, entity_type=NCR_REPORT, entity_id=report.id,
                 action_type=f"NCR_REPORT_{request.code.upper()}", payload_diff=audit.diff(
                     {"status": previous, "current_assignee_id": entry.from_assignee},
                     {"status": target, "current_assignee_id": assignee, "comment": request.comment}))
    session.flush()
    return NcrReportMoved(result=_result(entry.row, report), now=state_of(session, report, definition))


class _Entry:
    def __init__(self, row: WorkflowTransition, from_assignee: int | None) -> None:
        self.row, self.from_assignee = row, from_assignee


def _move(session: Session, report: NonConformance, definition: Definition, request: TransitionRequest,
          target: str, assignee: int | None) -> _Entry:
    now, previous, from_assignee = utcnow(), report.status, report.current_assignee_id
    if target != previous:
        report.status, report.state_entered_at = target, now
        if definition.is_final(target):
            report.closed_at = now
    report.current_assignee_id = assignee
    report.version += 1
    row = WorkflowTransition(entity_type=NCR_REPORT, entity_id=report.id, transition_code=request.code,
                             from_state=previous, to_state=target, performed_by_id=request.actor.id,
                             assignee_id=assignee, comment=request.comment, performed_at=now, op_key=request.op_key)
    session.add(row)
    return _Entry(row, from_assignee)


def _assignee_for(session: Session, definition: Definition, report: NonConformance, target: str,
                  request: TransitionRequest) -> int | None:
    rule = definition.transition(request.code)
    if rule is not None and rule.assigns:
        return _named_assignee(session, request.assignee_id, definition.role_of(report.status))
    if definition.is_final(target):
        return None
    return least_loaded_assignee(session, definition.role_of(target), excluding_ncr_id=report.id)


def _named_assignee(session: Session, user_id: int | None, role: str | None) -> int:
    """An assignment names an active user holding the role of the report's state."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not definitions.holds_role(user, role):
        raise field_error("assignee_id", f"The assignee must be an active user with the role {role}"
                            if user_id is not None else "assignee_id is required")
    return user.id


def _applied(session: Session, op_key: str) -> WorkflowTransition | None:
    if not op_key:
        return None
    return session.scalars(select(WorkflowTransition).where(WorkflowTransition.op_key == op_key)).first()


def _result(row: WorkflowTransition, report: NonConformance) -> TransitionResult:
    return TransitionResult(entity_id=report.id, previous_state=row.from_state or "", current_state=row.to_state,
                            assignee_id=row.assignee_id, performed_by_id=row.performed_by_id,
                            performed_at=row.performed_at, version=report.version)


def escalate(session: Session, escalation: NcrReportEscalation) -> NcrReportState:
    """No move within the SLA: the report's escalation level rises, the history says so (by the system) and the
    admins are notified; a report that has reached a final state meanwhile is left alone."""
    report = by_id(session, escalation.ncr_id, lock=True)
    definition = definitions.load(session, NCR_REPORT)
    if _applied(session, escalation.op_key) is not None or definition.is_final(report.status):
        return state_of(session, report, definition)
    report.escalation_level, report.version = escalation.level, report.version + 1
    comment = f"No action within {_duration(escalation.sla_seconds)}; escalation level {escalation.level}"
    session.add(WorkflowTransition(entity_type=NCR_REPORT, entity_id=report.id, transition_code=ESCALATE,
                                   from_state=report.status, to_state=report.status, performed_by_id=None,
                                   assignee_id=report.current_assignee_id, comment=comment, performed_at=utcnow(),
                                   op_key=escalation.op_key))
    audit.record(session, actor_id=None, entity_type=NCR_REPORT, entity_id=report.id,
                 action_type="NCR_REPORT_ESCALATED",
                 payload_diff=audit.diff({"escalation_level": escalation.level - 1},
                                         {"escalation_level": escalation.level}))
    _notify_admins(session, report, comment)
    session.flush()
    return state_of(session, report, definition)


def _notify_admins(session: Session, report: NonConformance, comment: str) -> None:
    """One outbox row per active admin (once per report and level)."""
    admins = list(session.scalars(select(User).where(User.is_active.is_(True), or_(
        User.role.in_([role.value for role in ADMIN_EQUIVALENTS]), User.is_superuser.is_(True)))))
    assignee = people(session, [report.current_assignee_id]).get(report.current_assignee_id or 0)
    notifications.enqueue(session, key=f"ncr-report-escalation:{report.id}:{report.escalation_level}",
                          kind="ncr_report_escalation", recipients=admins, reference_type=NCR_REPORT,
                          reference_id=report.id, ncr_number=report.ncr_number, severity=report.severity,
                          state=report.status, since=iso_z(report.state_entered_at) or "its creation",
                          assignee=assignee["name"] if assignee else "nobody", comment=comment, ncr_id=report.id)


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds} second(s)"
