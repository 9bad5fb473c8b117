"""What `/api/v1/workflows` reads of the approval engine (instances, tasks, what a user may decide), and the few
direct writes beside the approval engine: a standalone instance's row before its workflow starts and the
record of a cancellation request (templates: services/approvals/templates.py). Never commits."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.errors import AppError, workflow_violation
from core.permissions import approval_refusal, is_admin_equivalent, parse_role
from core.settings import get_settings
from core.timeutil import iso_z
from dto.approvals import ApprovalRequest, ApprovalStatus, TaskView
from models.approvals import ApprovalInstance, ApprovalTask
from models.identity import User
from services import audit
from services.approvals import engine as approvals
from services.common.queries import given
from services.identity import Principal

OPEN = (ApprovalStatus.PENDING.value, ApprovalStatus.IN_REVIEW.value)


def as_number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names (full name, else username) of the users with these ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(wanted)))
    return {row.id: row.full_name or row.username for row in rows}


# --- instances ----------------------------------------------------------------------------------------

def render_instance(instance: ApprovalInstance) -> dict[str, Any]:
    """An instance as the contract shows it (`/workflows/po/{id}/submit`), with its step count and end."""
    return {"id": instance.id, "template_id": instance.template_id, "reference_type": instance.reference_type,
            "reference_id": instance.reference_id, "reference_number": instance.reference_number,
            "status": instance.status, "current_step": instance.current_step, "total_steps": instance.total_steps,
            "amount": as_number(instance.amount), "currency": instance.currency, "requested_by": instance.requested_by,
            "requested_at": iso_z(instance.requested_at), "due_date": iso_z(instance.due_date),
            "priority": instance.priority, "extra_data": instance.extra_data, "notes": instance.notes,
            "completed_at": iso_z(instance.completed_at), "created_at": iso_z(instance.created_at),
            "updated_at": iso_z(instance.updated_at)}


def render_task(task: ApprovalTask | TaskView) -> dict[str, Any]:
    """A decided (or open) step as the contract shows it (`/workflows/instances/{id}/approve`)."""
    return {"id": task.id, "workflow_instance_id": task.workflow_instance_id,
            "workflow_step_id": task.workflow_step_id, "step_number": task.step_number,
            "approver_id": task.approver_id, "status": task.status, "decision_at": iso_z(task.decision_at),
            "comments": task.comments, "is_escalated": task.is_escalated, "created_at": iso_z(task.created_at),
            "updated_at": iso_z(task.updated_at)}


def get_instance(session: Session, instance_id: int) -> ApprovalInstance:
    return approvals.get_instance(session, instance_id)


def instance_view(session: Session, instance_id: int) -> dict[str, Any]:
    return render_instance(get_instance(session, instance_id))


def tasks_of(session: Session, instance_id: int) -> list[ApprovalTask]:
    return list(session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance_id)
                                .order_by(ApprovalTask.step_number)))


def instance_detail(session: Session, instance_id: int) -> dict[str, Any]:
    """The instance with its steps so far (one task per opened step)."""
    instance = get_instance(session, instance_id)
    tasks = tasks_of(session, instance.id)
    names = user_names(session, [instance.requested_by, *(t.approver_id for t in tasks)])
    approvals_ = [{**render_task(t), "step_name": t.step_name, "approver_role": t.approver_role,
                   "approver_user_id": t.approver_user_id, "approver": names.get(t.approver_id or 0),
                   "due_at": iso_z(t.due_at), "escalated_at": iso_z(t.escalated_at),
                   "escalated_to_id": t.escalated_to_id} for t in tasks]
    return {**render_instance(instance), "requested_by_name": names.get(instance.requested_by or 0),
            "approvals": approvals_}


def search_instances(session: Session, offset: int, limit: int, *, status: str | None, reference_type: str | None,
                     reference_id: int | None, requested_by: int | None) -> tuple[list[dict[str, Any]], int]:
    filters = given((status, ApprovalInstance.status == status),
                    (reference_type, ApprovalInstance.reference_type == reference_type),
                    (reference_id, ApprovalInstance.reference_id == reference_id),
                    (requested_by, ApprovalInstance.requested_by == requested_by))
    total = session.scalar(select(func.count(ApprovalInstance.id)).where(*filters)) or 0
    rows = session.scalars(select(ApprovalInstance).where(*filters).order_by(ApprovalInstance.id.desc())
                           .offset(offset).limit(limit))
    return [render_instance(r) for r in rows], int(total)


@dataclass(frozen=True)
class OpenedInstance:
    view: dict[str, Any]
    request: ApprovalRequest | None  # None: no step applies, approved at once


def open_instance(session: Session, values: dict[str, Any], requester_id: int) -> OpenedInstance:
    """A standalone approval request: the steps its amount calls for under the entity type's active
    template, its instance row, and what its workflow starts with. One open request per reference."""
    reference_type, reference_id = values["reference_type"], values["reference_id"]
    entity = approvals.APPROVED_ENTITIES.get(reference_type)
    if entity is not None and entity.submitted_by is not None:
        raise workflow_violation(f"{entity.label}s are approved through their own lifecycle: use "
                                 f"{entity.submitted_by}", {"reference_type": reference_type})
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"approval:{reference_type}:{reference_id}"))))
    running = session.scalar(select(ApprovalInstance.id).where(ApprovalInstance.reference_type == reference_type,
                                                               ApprovalInstance.reference_id == reference_id,
                                                               ApprovalInstance.status.in_(OPEN)).limit(1))
    if running is not None:
        raise workflow_violation(f"{reference_type} {reference_id} already has approval {running} in progress",
                                 {"instance_id": running})
    template_id, steps = approvals.plan(session, reference_type, values["amount"])
    instance = approvals.create_instance(
        session, template_id=template_id, reference_type=reference_type, reference_id=reference_id,
        reference_number=values.get("reference_number") or f"{reference_type}-{reference_id}",
        amount=values["amount"], currency=values["currency"], requester_id=requester_id, steps=steps,
        priority=values["priority"], extra_data=values.get("extra_data") or {}, notes=values.get("notes"))
    session.flush()
    request = ApprovalRequest(instance_id=instance.id, reference_type=reference_type, reference_id=reference_id,
                              amount=instance.amount, requester_id=requester_id, steps=steps,
                              allow_self_approval=get_settings().allow_self_approval) if steps else None
    return OpenedInstance(view=render_instance(instance), request=request)


def withdraw_instance(session: Session, instance_id: int, reason: str) -> None:
    """Undo a standalone instance whose workflow could not be started (the client may simply retry)."""
    instance = session.get(ApprovalInstance, instance_id, with_for_update=True)
    if instance is None:
        return
    audit.record(session, actor_id=instance.requested_by, entity_type="approval_instance", entity_id=instance.id,
                 action_type="APPROVAL_WITHDRAWN", payload_diff={"status": {"old": instance.status, "new": None},
                                                                 "reason": {"old": None, "new": reason}})
    session.delete(instance)


@dataclass(frozen=True)
class DecisionTarget:
    instance_id: int
    current_step: int
    reference_type: str
    reference_id: int
    engine_workflow_id: str | None = None  # the workflow whose approval engine decides it


def decision_target(session: Session, instance_id: int) -> DecisionTarget:
    """The open instance a decision goes to, with the step it decides (pinned: a decision meant for step 1
    never lands on step 2)."""
    instance = get_instance(session, instance_id)
    if instance.status not in OPEN:
        raise AppError("ALREADY_DECIDED", 409, f"Workflow instance {instance.id} is {instance.status}; it is no "
                       "longer waiting for a decision", {"instance_id": instance.id, "status": instance.status})
    return DecisionTarget(instance.id, instance.current_step, instance.reference_type, instance.reference_id,
                          instance.workflow_id)


def cancel_target(session: Session, instance_id: int, principal: Principal) -> DecisionTarget:
    """An open instance the caller may cancel: their own request, or any for admin-equivalents."""
    instance = get_instance(session, instance_id)
    if instance.requested_by != principal.id and not is_admin_equivalent(principal.role, principal.is_superuser):
        raise AppError("ACCESS_DENIED", 403, "Only the requester or an administrator may cancel this workflow",
                       {"instance_id": instance.id})
    if instance.status not in OPEN:
        raise workflow_violation(f"Workflow instance {instance.id} is {instance.status} and cannot be cancelled",
                                 {"instance_id": instance.id, "status": instance.status})
    return DecisionTarget(instance.id, instance.current_step, instance.reference_type, instance.reference_id,
                          instance.workflow_id)


def record_cancel_request(session: Session, instance_id: int, actor_id: int, reason: str | None) -> None:
    """Who asked for the cancellation (the engine's `cancel` signal carries no actor)."""
    audit.record(session, actor_id=actor_id, entity_type="approval_instance", entity_id=instance_id,
                 action_type="APPROVAL_CANCEL_REQUESTED", payload_diff={"reason": {"old": None, "new": reason}})


# --- what a user may decide ---------------------------------------------------------------------------

def decidable(session: Session, principal: Principal) -> list[tuple[ApprovalTask, ApprovalInstance]]:
    """The open steps this user may decide now: the same rule the approval workflow's validator applies."""
    allow_self = get_settings().allow_self_approval
    admin = is_admin_equivalent(principal.role, principal.is_superuser)
    query = (select(ApprovalTask, ApprovalInstance)
             .join(ApprovalInstance, ApprovalInstance.id == ApprovalTask.workflow_instance_id)
             .where(ApprovalTask.status == "pending", ApprovalInstance.status.in_(OPEN)))
    if not admin:
        role = parse_role(principal.role)
        mine = [ApprovalTask.approver_user_id == principal.id,
                and_(ApprovalTask.is_escalated.is_(True), ApprovalTask.escalated_to_id == principal.id)]
        if role is not None:
            mine.append(func.lower(ApprovalTask.approver_role) == role.value)
        query = query.where(or_(*mine))
    if not allow_self:
        query = query.where(or_(ApprovalInstance.requested_by.is_(None), ApprovalInstance.requested_by != principal.id))
    items = []
    for task, instance in session.execute(query.order_by(ApprovalInstance.requested_at, ApprovalTask.id)).tuples():
        refusal = approval_refusal(principal.role, principal.is_superuser, principal.id, principal.approval_limit,
                                   task.approver_role, task.approver_user_id, instance.amount, instance.requested_by,
                                   allow_self, task.escalated_to_id if task.is_escalated else None)
        if refusal is None:
            items.append((task, instance))
    return items


def decidable_view(task: ApprovalTask, instance: ApprovalInstance) -> dict[str, Any]:
    return {"approval_id": task.id, "instance_id": instance.id, "reference_type": instance.reference_type,
            "reference_id": instance.reference_id, "reference_number": instance.reference_number,
            "amount": as_number(instance.amount), "currency": instance.currency,
            "requested_at": iso_z(instance.requested_at), "priority": instance.priority,
            "step_number": task.step_number, "step_name": task.step_name, "due_at": iso_z(task.due_at),
            "is_escalated": task.is_escalated}
