"""Approval templates: master data of the approval engine, read and written as guarded direct writes
(`/api/v1/workflows/templates`). Never commits."""

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import AppError, not_found, workflow_violation
from core.timeutil import iso_z, utcnow
from models.approvals import ApprovalInstance, ApprovalTask, ApprovalTemplate, ApprovalTemplateStep
from models.identity import User
from services import audit
from services.approvals import engine as approvals
from services.approvals.reads import OPEN
from services.common.queries import given

TEMPLATE_FIELDS = ("name", "entity_type", "description", "is_active", "auto_approve_below", "sla_seconds")
STEP_FIELDS = ("name", "approver_role", "approver_user_id", "min_amount", "sla_seconds", "escalation_user_id",
               "allow_delegation")


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def render_step(step: ApprovalTemplateStep) -> dict[str, Any]:
    return {"id": step.id, "template_id": step.template_id, "step_number": step.step_number, "name": step.name,
            "approver_role": step.approver_role, "approver_user_id": step.approver_user_id,
            "min_amount": _number(step.min_amount), "sla_seconds": step.sla_seconds,
            "escalation_user_id": step.escalation_user_id, "allow_delegation": step.allow_delegation,
            "created_at": iso_z(step.created_at), "updated_at": iso_z(step.updated_at)}


def _steps_of(session: Session, template_ids: list[int]) -> dict[int, list[ApprovalTemplateStep]]:
    steps: dict[int, list[ApprovalTemplateStep]] = {i: [] for i in template_ids}
    for step in session.scalars(select(ApprovalTemplateStep).where(ApprovalTemplateStep.template_id.in_(template_ids))
                                .order_by(ApprovalTemplateStep.template_id, ApprovalTemplateStep.step_number)):
        steps[step.template_id].append(step)
    return steps


def _render_template(template: ApprovalTemplate, steps: list[ApprovalTemplateStep],
                     active_id: int | None) -> dict[str, Any]:
    return {"id": template.id, "name": template.name, "entity_type": template.entity_type,
            "description": template.description, "is_active": template.is_active,
            "is_effective": template.id == active_id, "auto_approve_below": _number(template.auto_approve_below),
            "sla_seconds": template.sla_seconds, "created_by": template.created_by_id,
            "created_at": iso_z(template.created_at), "updated_at": iso_z(template.updated_at),
            "steps": [render_step(s) for s in steps]}


def render_template(session: Session, template: ApprovalTemplate) -> dict[str, Any]:
    active = approvals.active_template(session, template.entity_type)
    return _render_template(template, _steps_of(session, [template.id])[template.id], active.id if active else None)


def list_templates(session: Session, entity_type: str | None, is_active: bool | None) -> list[dict[str, Any]]:
    templates = list(session.scalars(select(ApprovalTemplate).where(*given(
        (entity_type, ApprovalTemplate.entity_type == entity_type),
        (is_active, ApprovalTemplate.is_active.is_(is_active)))).order_by(ApprovalTemplate.id)))
    steps = _steps_of(session, [t.id for t in templates])
    # the template new requests of each entity type use: its newest active one (services.approvals.engine)
    effective = {entity: newest for entity, newest in session.execute(
        select(ApprovalTemplate.entity_type, func.max(ApprovalTemplate.id))
        .where(ApprovalTemplate.is_active.is_(True)).group_by(ApprovalTemplate.entity_type))}
    return [_render_template(t, steps[t.id], effective.get(t.entity_type)) for t in templates]


def get_template(session: Session, template_id: int, lock: bool = False) -> ApprovalTemplate:
    template = session.get(ApprovalTemplate, template_id, with_for_update=lock)
    if template is None:
        raise not_found("Workflow template", template_id)
    return template


def _require_users(session: Session, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        for field in ("approver_user_id", "escalation_user_id"):
            user_id = step.get(field)
            if user_id is not None and session.get(User, user_id) is None:
                raise AppError("NOT_FOUND", 404, f"User {user_id} not found",
                               {"field": f"steps.{step['step_number']}.{field}"})


def create_template(session: Session, values: dict[str, Any], steps: list[dict[str, Any]],
                    actor_id: int) -> dict[str, Any]:
    """A template with its steps; the newest active one of an entity type is the one new requests use."""
    _require_users(session, steps)
    template = ApprovalTemplate(created_by_id=actor_id, **{k: values.get(k) for k in TEMPLATE_FIELDS})
    session.add(template)
    session.flush()
    for step in steps:
        session.add(ApprovalTemplateStep(template_id=template.id, step_number=step["step_number"],
                                         **{k: step[k] for k in STEP_FIELDS}))
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="approval_template", entity_id=template.id,
                 action_type="APPROVAL_TEMPLATE_CREATED", payload_diff=audit.created(
                     {**{k: values.get(k) for k in TEMPLATE_FIELDS}, "steps": len(steps)}))
    return render_template(session, template)


def _template_in_use(session: Session, template_id: int, step_ids: list[int]) -> bool:
    open_request = select(ApprovalInstance.id).where(ApprovalInstance.template_id == template_id,
                                                     ApprovalInstance.status.in_(OPEN)).limit(1)
    referenced = select(ApprovalTask.id).where(ApprovalTask.workflow_step_id.in_(step_ids)).limit(1)
    return session.scalar(open_request) is not None or session.scalar(referenced) is not None


def _step_values(step: ApprovalTemplateStep) -> dict[str, Any]:
    return {"step_number": step.step_number, **{k: getattr(step, k) for k in STEP_FIELDS}}


def update_template(session: Session, template_id: int, changes: dict[str, Any],
                    steps: list[dict[str, Any]] | None, actor_id: int) -> dict[str, Any]:
    """Change the header; `steps` (when given) replaces the steps: kept numbers are updated in place, a
    step no longer listed is removed unless a request may still use it (an open request of this template
    opens its later steps from its plan; a decided task refers to its step): then 409, make a new template.
    Requests already running keep the steps they were planned with."""
    template = get_template(session, template_id, lock=True)
    before = {k: getattr(template, k) for k in TEMPLATE_FIELDS}
    for field, value in changes.items():
        setattr(template, field, value)
    after = {k: getattr(template, k) for k in TEMPLATE_FIELDS}
    if steps is not None:
        _require_users(session, steps)
        existing = {s.step_number: s for s in _steps_of(session, [template.id])[template.id]}
        before["steps"] = [_step_values(s) for s in existing.values()]
        removed = [step for number, step in existing.items() if number not in {s["step_number"] for s in steps}]
        if removed and _template_in_use(session, template.id, [s.id for s in removed]):
            raise workflow_violation(f"Steps {[s.step_number for s in removed]} of template {template.id} are used "
                                     "by approval requests and cannot be removed; deactivate the template and create "
                                     "a new one instead", {"step_numbers": [s.step_number for s in removed]})
        try:
            with session.begin_nested():  # a task opened meanwhile still refers to its step
                for step in removed:
                    session.delete(step)
        except IntegrityError:
            raise workflow_violation(f"A removed step of template {template.id} was just taken up by an approval "
                                     "request; deactivate the template and create a new one instead") from None
        for values in steps:
            row = existing.get(values["step_number"])
            if row is None:
                session.add(ApprovalTemplateStep(template_id=template.id, step_number=values["step_number"],
                                                 **{k: values[k] for k in STEP_FIELDS}))
            else:
                for field in STEP_FIELDS:
                    setattr(row, field, values[field])
        template.updated_at = utcnow()
        session.flush()
        after["steps"] = [_step_values(s) for s in _steps_of(session, [template.id])[template.id]]
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="approval_template", entity_id=template.id,
                 action_type="APPROVAL_TEMPLATE_UPDATED", payload_diff=audit.diff(before, after))
    return render_template(session, template)


def add_step(session: Session, template_id: int, values: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """One more step; without a number it comes after the last one."""
    template = get_template(session, template_id, lock=True)
    if values.get("step_number") is None:
        last = session.scalar(select(func.max(ApprovalTemplateStep.step_number))
                              .where(ApprovalTemplateStep.template_id == template.id))
        values = {**values, "step_number": (last or 0) + 1}
    number = values["step_number"]
    if session.scalar(select(ApprovalTemplateStep.id).where(ApprovalTemplateStep.template_id == template.id,
                                                            ApprovalTemplateStep.step_number == number)):
        raise AppError("DUPLICATE_ENTRY", 409, f"Template {template.id} already has a step {number}",
                       {"step_number": number})
    _require_users(session, [values])
    step = ApprovalTemplateStep(template_id=template.id, step_number=number, **{k: values[k] for k in STEP_FIELDS})
    session.add(step)
    template.updated_at = utcnow()
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="approval_template", entity_id=template.id,
                 action_type="APPROVAL_TEMPLATE_STEP_ADDED", payload_diff=audit.created(_step_values(step)))
    return render_step(step)
