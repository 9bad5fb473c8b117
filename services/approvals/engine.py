"""Approval records: plans from templates, instances, tasks (the inbox rows), decisions, escalations.
Called from the approval workflow's activities; never commits."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.settings import get_settings
from core.timeutil import iso_z, utcnow
from dto.approvals import (
    ApprovalOutcome,
    ApprovalStatus,
    DecisionEffect,
    StepEffect,
    StepPlan,
    TaskView,
)
from models.approvals import ApprovalInstance, ApprovalTask, ApprovalTemplate, ApprovalTemplateStep
from models.identity import User
from services import audit, notifications
from services.common.guards import claim_operation


def active_template(session: Session, entity_type: str, lock: bool = False) -> ApprovalTemplate | None:
    """The newest active template for the entity type: a new one replaces the seeded default. `lock`
    share-locks it, so a concurrent edit of its steps waits until the plan is taken."""
    query = (select(ApprovalTemplate).where(ApprovalTemplate.entity_type == entity_type,
                                            ApprovalTemplate.is_active.is_(True))
             .order_by(ApprovalTemplate.id.desc()).limit(1))
    return session.scalars(query.with_for_update(read=True) if lock else query).first()


def plan(session: Session, entity_type: str, amount: Decimal) -> tuple[int | None, list[StepPlan]]:
    """The template and the steps an amount calls for; no steps means auto-approved."""
    template = active_template(session, entity_type, lock=True)
    if template is None:
        return None, []
    return template.id, steps_for(session, template, amount)


def steps_for(session: Session, template: ApprovalTemplate, amount: Decimal) -> list[StepPlan]:
    """The steps of `template` an amount calls for (none below its auto-approve threshold)."""
    if template.auto_approve_below is not None and amount < template.auto_approve_below:
        return []
    default_sla = template.sla_seconds or get_settings().approval_sla_seconds
    steps = session.scalars(select(ApprovalTemplateStep).where(ApprovalTemplateStep.template_id == template.id,
                                                               ApprovalTemplateStep.min_amount <= amount)
                            .order_by(ApprovalTemplateStep.step_number))
    return [StepPlan(step_number=n, name=s.name, template_step_id=s.id, approver_role=s.approver_role,
                     approver_user_id=s.approver_user_id, sla_seconds=s.sla_seconds or default_sla,
                     escalation_user_id=s.escalation_user_id)
            for n, s in enumerate(steps, start=1)]


def create_instance(session: Session, *, template_id: int | None, reference_type: str, reference_id: int,
                    reference_number: str, amount: Decimal, currency: str, requester_id: int, steps: list[StepPlan],
                    priority: str, extra_data: dict[str, Any], notes: str | None,
                    workflow_id: str | None = None) -> ApprovalInstance:
    """The request and its audit row. `workflow_id` names the workflow whose engine decides it (the entity's
    own lifecycle); by default its own `approval-{id}` workflow."""
    status = ApprovalStatus.PENDING if steps else ApprovalStatus.APPROVED
    due = utcnow() + timedelta(seconds=sum(s.sla_seconds for s in steps)) if steps else None
    instance = ApprovalInstance(template_id=template_id, reference_type=reference_type, reference_id=reference_id,
                                reference_number=reference_number, status=status, current_step=1,
                                total_steps=len(steps), amount=amount, currency=currency, requested_by=requester_id,
                                due_date=due, priority=priority, extra_data=audit.json_safe(extra_data), notes=notes,
                                completed_at=None if steps else utcnow(), workflow_id=workflow_id if steps else None)
    session.add(instance)
    session.flush()
    if steps and workflow_id is None:
        instance.workflow_id = f"approval-{instance.id}"
    audit.record(session, actor_id=requester_id, entity_type="approval_instance", entity_id=instance.id,
                 action_type="APPROVAL_REQUESTED", payload_diff=audit.created(
                     {"reference_type": reference_type, "reference_id": reference_id, "amount": amount,
                      "steps": len(steps), "status": status}))
    return instance


def task_view(task: ApprovalTask) -> TaskView:
    return TaskView.model_validate({c.key: getattr(task, c.key) for c in ApprovalTask.__table__.columns})


def _task(session: Session, instance_id: int, step_number: int, lock: bool = False) -> ApprovalTask:
    query = select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance_id,
                                       ApprovalTask.step_number == step_number)
    task = session.scalars(query.with_for_update() if lock else query).first()
    if task is None:
        raise not_found("Approval step", f"{instance_id}/{step_number}")
    return task


def _instance(session: Session, instance_id: int) -> ApprovalInstance:
    instance = session.get(ApprovalInstance, instance_id, with_for_update=True)
    if instance is None:
        raise not_found("Approval instance", instance_id)
    return instance


def _mail_values(instance: ApprovalInstance, step: StepPlan | None = None, **more: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"reference": instance.reference_number or f"{instance.reference_type} "
                              f"{instance.reference_id}", "amount": f"{instance.amount:,.2f}",
                              "currency": instance.currency}
    if step is not None:
        values.update(step_number=step.step_number, step_name=step.name)
    return {**values, **more}


def open_step(session: Session, effect: StepEffect) -> TaskView:
    """The step's task row, due after its SLA; its approvers are notified. Opening twice is harmless."""
    instance = _instance(session, effect.instance_id)
    existing = session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance.id,
                                                          ApprovalTask.step_number == effect.step.step_number)).first()
    if existing is not None:
        return task_view(existing)
    step = effect.step
    task = ApprovalTask(workflow_instance_id=instance.id, workflow_step_id=step.template_step_id,
                        step_number=step.step_number, step_name=step.name, approver_role=step.approver_role,
                        approver_user_id=step.approver_user_id, status="pending",
                        due_at=utcnow() + timedelta(seconds=step.sla_seconds))
    session.add(task)
    instance.current_step = step.step_number
    instance.status = ApprovalStatus.PENDING if step.step_number == 1 else ApprovalStatus.IN_REVIEW
    session.flush()
    approvers = ([session.get(User, step.approver_user_id)] if step.approver_user_id
                 else notifications.users_with_role(session, step.approver_role or ""))
    requester = session.get(User, instance.requested_by) if instance.requested_by else None
    notifications.enqueue(session, key=f"pending:{instance.id}:{step.step_number}", kind="pending_approval",
                          recipients=[u for u in approvers if u], reference_type="approval_instance",
                          reference_id=instance.id, **_mail_values(
                              instance, step, requester=requester.full_name or requester.username if requester
                              else "someone", due_at=iso_z(task.due_at)))
    return task_view(task)


def escalate_step(session: Session, effect: StepEffect) -> TaskView:
    """Past its due time: the step is escalated to its escalation user, else to the Directors."""
    instance = _instance(session, effect.instance_id)
    task = _task(session, instance.id, effect.step.step_number, lock=True)
    if task.is_escalated or task.status != "pending":
        return task_view(task)
    task.is_escalated, task.escalated_at = True, utcnow()
    task.escalated_to_id = effect.step.escalation_user_id
    task.version += 1
    targets = ([session.get(User, effect.step.escalation_user_id)] if effect.step.escalation_user_id
               else notifications.users_with_role(session, effect.step.escalation_role or "director"))
    notifications.enqueue(session, key=f"escalation:{instance.id}:{task.step_number}", kind="escalation",
                          recipients=[u for u in targets if u], reference_type="approval_instance",
                          reference_id=instance.id, **_mail_values(instance, effect.step, due_at=iso_z(task.due_at)))
    audit.record(session, actor_id=None, entity_type="approval_instance", entity_id=instance.id,
                 action_type="APPROVAL_ESCALATED", payload_diff={"step": {"old": None, "new": task.step_number},
                                                                 "escalated_to_id": {"old": None,
                                                                                     "new": task.escalated_to_id}})
    session.flush()
    return task_view(task)


def record_decision(session: Session, effect: DecisionEffect) -> TaskView:
    """Decide the step once (a second decision is a 409), with its history on the referenced entity."""
    if not claim_operation(session, effect.op_key):
        return task_view(_task(session, effect.instance_id, effect.step.step_number))
    instance = _instance(session, effect.instance_id)
    task = _task(session, instance.id, effect.step.step_number, lock=True)
    if task.status != "pending":
        raise AppError("ALREADY_DECIDED", 409, f"Step {task.step_number} was already {task.status}",
                       {"step_number": task.step_number, "status": task.status})
    decision = effect.decision
    task.status, task.approver_id, task.comments = decision.action.value, decision.actor.id, decision.comments
    task.decision_at, task.version = utcnow(), task.version + 1
    if not effect.final:
        instance.status = ApprovalStatus.IN_REVIEW
    audit.record(session, actor_id=decision.actor.id, entity_type="approval_instance", entity_id=instance.id,
                 action_type=f"APPROVAL_STEP_{decision.action.value.upper()}",
                 payload_diff={"status": {"old": "pending", "new": decision.action.value},
                               "step_number": {"old": None, "new": task.step_number},
                               "comments": {"old": None, "new": decision.comments}})
    entity = APPROVED_ENTITIES.get(instance.reference_type)
    if entity is not None and entity.on_decision is not None:
        entity.on_decision(session, instance, effect)
    session.flush()
    return task_view(task)


DecisionHook = Callable[[Session, ApprovalInstance, DecisionEffect], None]


@dataclass(frozen=True)
class ApprovedEntity:
    """What the engine knows of a kind of entity that asks for approvals. The area that owns the entity registers
    it (`register_entity`), so the engine imports none of its callers."""

    label: str  # "Purchase order": how messages name it
    on_decision: DecisionHook | None = None  # what a decision does to the entity, in the decision's transaction
    submitted_by: str | None = None  # the call that asks, when the entity's own lifecycle runs its approval
    # its number and status now (the inbox's "Purchase order PO-… is now approved"); None: not found
    state_of: Callable[[Session, int], tuple[str, str] | None] | None = None


APPROVED_ENTITIES: dict[str, ApprovedEntity] = {}


def register_entity(reference_type: str, entity: ApprovedEntity) -> None:
    APPROVED_ENTITIES[reference_type] = entity


def finish(session: Session, outcome: ApprovalOutcome) -> ApprovalOutcome:
    """Close the instance; open tasks are cancelled; the requester hears the outcome."""
    instance = _instance(session, outcome.instance_id)
    if instance.completed_at is not None:
        return outcome
    instance.status, instance.completed_at, instance.version = outcome.status.value, utcnow(), instance.version + 1
    session.execute(update(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance.id,
                                               ApprovalTask.status == "pending").values(status="cancelled"))
    requester = session.get(User, instance.requested_by) if instance.requested_by else None
    if requester is not None and outcome.status != ApprovalStatus.CANCELLED:
        kind = "approved" if outcome.status == ApprovalStatus.APPROVED else "rejected"
        notifications.enqueue(session, key=f"outcome:{instance.id}", kind=kind, recipients=[requester],
                              reference_type="approval_instance", reference_id=instance.id,
                              **_mail_values(instance, outcome=outcome.status.value, comments=outcome.comments))
    audit.record(session, actor_id=outcome.decided_by, entity_type="approval_instance", entity_id=instance.id,
                 action_type=f"APPROVAL_{outcome.status.value.upper()}",
                 payload_diff={"status": {"old": "pending", "new": outcome.status.value}})
    return outcome


def get_instance(session: Session, instance_id: int) -> ApprovalInstance:
    instance = session.get(ApprovalInstance, instance_id)
    if instance is None:
        raise not_found("Workflow instance", instance_id)
    return instance
