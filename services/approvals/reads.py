"""What `/api/v1/workflows` reads (instances, inboxes, a PO's approval status, audit trails), and the few
direct writes beside the approval engine: a standalone instance's row before its workflow starts and the
record of a cancellation request (templates: services/approvals/templates.py). Never commits."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found, workflow_violation
from core.permissions import Perm, approval_refusal, has_permission, is_admin_equivalent, parse_role
from core.settings import get_settings
from core.timeutil import iso_z
from dto.approvals import ApprovalRequest, ApprovalStatus, TaskView
from models.approvals import ApprovalInstance, ApprovalTask
from models.audit import AuditEntry
from models.identity import User
from models.procurement import GoodsReceipt, PurchaseOrder, PurchaseOrderHistory
from services import audit
from services.approvals import engine as approvals
from services.common.queries import given
from services.identity import Principal

OPEN = (ApprovalStatus.PENDING.value, ApprovalStatus.IN_REVIEW.value)
PURCHASE_ORDER = "purchase_order"
# Entities whose audit trail is part of the approval workflows: readable by any role there.
WORKFLOW_ENTITY_TYPES = frozenset({PURCHASE_ORDER, "approval_instance", "approval_template", "goods_receipt"})
ENTITY_ALIASES = {"workflow_instance": "approval_instance", "workflow": "approval_instance",
                  "workflow_template": "approval_template"}


def _number(value: Decimal | None) -> float | None:
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
            "amount": _number(instance.amount), "currency": instance.currency, "requested_by": instance.requested_by,
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


def _tasks(session: Session, instance_id: int) -> list[ApprovalTask]:
    return list(session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance_id)
                                .order_by(ApprovalTask.step_number)))


def instance_detail(session: Session, instance_id: int) -> dict[str, Any]:
    """The instance with its steps so far (one task per opened step)."""
    instance = get_instance(session, instance_id)
    tasks = _tasks(session, instance.id)
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
    if reference_type == PURCHASE_ORDER:
        raise workflow_violation("Purchase orders are approved through their own lifecycle: use "
                                 "POST /api/v1/workflows/po/{po_id}/submit", {"reference_type": reference_type})
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


# --- inbox --------------------------------------------------------------------------------------------

def my_approvals(session: Session, principal: Principal) -> dict[str, Any]:
    """What this user may decide now (the same rule the approval workflow's validator applies), the
    purchase orders among them, and the goods receipts waiting for their inspection."""
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
    approvals_ = [{"approval_id": task.id, "instance_id": instance.id, "reference_type": instance.reference_type,
                   "reference_id": instance.reference_id, "reference_number": instance.reference_number,
                   "amount": _number(instance.amount), "currency": instance.currency,
                   "requested_at": iso_z(instance.requested_at), "priority": instance.priority,
                   "step_number": task.step_number, "step_name": task.step_name, "due_at": iso_z(task.due_at),
                   "is_escalated": task.is_escalated} for task, instance in items]
    po_ids = [instance.reference_id for _, instance in items if instance.reference_type == PURCHASE_ORDER]
    pos = list(session.scalars(select(PurchaseOrder).where(PurchaseOrder.id.in_(po_ids), PurchaseOrder.status ==
                                                           "pending_approval").order_by(PurchaseOrder.id)))
    pending_pos = [{"id": po.id, "po_number": po.po_number, "status": po.status,
                    "total_amount": _number(po.total_amount), "currency": po.currency,
                    "created_at": iso_z(po.created_at)} for po in pos]
    inspections: list[dict[str, Any]] = []
    if has_permission(principal.role, Perm.PO_INSPECT, principal.is_superuser):
        receipts = session.scalars(select(GoodsReceipt).where(GoodsReceipt.status == "pending_inspection")
                                   .order_by(GoodsReceipt.receipt_date, GoodsReceipt.id))
        inspections = [{"id": g.id, "grn_number": g.grn_number, "purchase_order_id": g.purchase_order_id,
                        "receipt_date": g.receipt_date.isoformat(), "received_date": g.receipt_date.isoformat()}
                       for g in receipts]
    return {"workflow_approvals": approvals_, "pending_pos": pending_pos, "pending_inspections": inspections,
            "total_pending": len(approvals_) + len(pending_pos) + len(inspections)}


# --- a purchase order's approval ------------------------------------------------------------------------

def po_approval_status(session: Session, po_id: int) -> dict[str, Any]:
    """The PO, its current approval with every step so far, and its history (newest first)."""
    po = session.get(PurchaseOrder, po_id)
    if po is None:
        raise not_found("Purchase order", po_id)
    instance = session.get(ApprovalInstance, po.approval_instance_id) if po.approval_instance_id else None
    tasks = _tasks(session, instance.id) if instance is not None else []
    history = list(session.scalars(select(PurchaseOrderHistory).where(PurchaseOrderHistory.purchase_order_id == po.id)
                                   .order_by(PurchaseOrderHistory.created_at.desc(),
                                             PurchaseOrderHistory.id.desc())))
    names = user_names(session, [*(t.approver_id for t in tasks), *(h.user_id for h in history)])
    workflow = None if instance is None else {
        "id": instance.id, "status": instance.status, "current_step": instance.current_step,
        "total_steps": instance.total_steps,
        "approvals": [{"step": t.step_number, "step_name": t.step_name, "status": t.status,
                       "approver_role": t.approver_role, "approver": names.get(t.approver_id or 0),
                       "decision_at": iso_z(t.decision_at), "comments": t.comments,
                       "is_escalated": t.is_escalated} for t in tasks]}
    return {"po_id": po.id, "po_number": po.po_number, "po_status": po.status,
            "total_amount": _number(po.total_amount), "currency": po.currency, "workflow": workflow,
            "history": [{"action": h.action, "user": names.get(h.user_id or 0), "from_status": h.from_status,
                         "to_status": h.to_status, "comments": h.comments, "timestamp": iso_z(h.created_at)}
                        for h in history]}


# --- audit trail ----------------------------------------------------------------------------------------

def is_workflow_entity(session: Session, entity_type: str) -> bool:
    """An entity of the approval workflows (its trail is readable by any role): a PO, an approval instance
    or template, a goods receipt, or any type that approval requests refer to."""
    entity_type = ENTITY_ALIASES.get(entity_type, entity_type)
    return entity_type in WORKFLOW_ENTITY_TYPES or session.scalar(
        select(ApprovalInstance.id).where(ApprovalInstance.reference_type == entity_type).limit(1)) is not None


def _values(payload: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for field, change in payload.items():
        if isinstance(change, dict) and set(change) == {"old", "new"}:
            if change["old"] is not None:
                old[field] = change["old"]
            if change["new"] is not None:
                new[field] = change["new"]
        else:
            new[field] = change
    return old or None, new or None


def _new(payload: dict[str, Any], field: str) -> Any:
    change = payload.get(field)
    return change.get("new") if isinstance(change, dict) else change


def _describe(entry: AuditEntry, po_numbers: dict[str, str]) -> str:
    payload, action = entry.payload_diff or {}, entry.action_type
    step = _new(payload, "step_number") or _new(payload, "step")
    if action.startswith("APPROVAL_STEP_"):
        verb = action.removeprefix("APPROVAL_STEP_").capitalize()
        return f"{verb} workflow step {step} (workflow {entry.entity_id})"
    if action == "APPROVAL_ESCALATED":
        return f"Escalated workflow step {step} (workflow {entry.entity_id})"
    if action == "APPROVAL_REQUESTED":
        steps = _new(payload, "steps")
        return (f"Requested approval of {_new(payload, 'reference_type')} {_new(payload, 'reference_id')} "
                f"(amount {_new(payload, 'amount')}, {steps} step{'s' if steps != 1 else ''}; workflow "
                f"{entry.entity_id})")
    if action == "PO_SUBMITTED":
        return (f"Submitted PO {po_numbers.get(entry.entity_id, entry.entity_id)} for approval (workflow "
                f"{_new(payload, 'approval_instance_id')})")
    if entry.entity_type == PURCHASE_ORDER and action.startswith("PO_"):
        return f"{action.removeprefix('PO_').replace('_', ' ').capitalize()} PO " \
               f"{po_numbers.get(entry.entity_id, entry.entity_id)}"
    if action.startswith("APPROVAL_") and entry.entity_type == "approval_instance":
        return f"Workflow {entry.entity_id} {action.removeprefix('APPROVAL_').replace('_', ' ').lower()}"
    return f"{action.replace('_', ' ').capitalize()} ({entry.entity_type} {entry.entity_id})"


def entity_audit_trail(session: Session, entity_type: str, entity_id: str, limit: int) -> list[dict[str, Any]]:
    """The entity's audit rows and those of the approval requests that refer to it, newest first."""
    entity_type = ENTITY_ALIASES.get(entity_type, entity_type)
    conditions = [and_(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)]
    if entity_type != "approval_instance" and entity_id.isdigit() and len(entity_id) < 18:
        instance_ids = [str(i) for i in session.scalars(select(ApprovalInstance.id).where(
            ApprovalInstance.reference_type == entity_type, ApprovalInstance.reference_id == int(entity_id)))]
        if instance_ids:
            conditions.append(and_(AuditEntry.entity_type == "approval_instance",
                                   AuditEntry.entity_id.in_(instance_ids)))
    rows = list(session.scalars(select(AuditEntry).where(or_(*conditions))
                                .order_by(AuditEntry.timestamp.desc(), AuditEntry.id.desc()).limit(limit)))
    names = user_names(session, [r.actor_id for r in rows])
    po_numbers: dict[str, str] = {}
    if entity_type == PURCHASE_ORDER and entity_id.isdigit() and len(entity_id) < 18:
        po = session.get(PurchaseOrder, int(entity_id))
        if po is not None:
            po_numbers[entity_id] = po.po_number
    result = []
    for row in rows:
        old, new = _values(row.payload_diff or {})
        result.append({"id": row.id, "action": row.action_type, "entity_type": row.entity_type,
                       "entity_id": row.entity_id, "user": names.get(row.actor_id or 0) if row.actor_id else None,
                       "user_id": row.actor_id, "description": _describe(row, po_numbers), "old_values": old,
                       "new_values": new, "timestamp": iso_z(row.timestamp), "ip_address": row.ip_address})
    return result
