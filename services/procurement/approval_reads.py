"""The aerospace contract's approval views that show procurement records (`/api/v1/workflows`): the approver's
summary with the purchase orders and goods receipts waiting, a purchase order's approval status, and audit trails
that describe purchase orders. They read the approval engine's records through services/approvals/reads.py. Never
commits."""

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.permissions import Perm, has_permission
from core.timeutil import iso_z
from models.approvals import ApprovalInstance
from models.audit import AuditEntry
from models.procurement import GoodsReceipt, PurchaseOrder, PurchaseOrderHistory
from services.approvals.reads import as_number, decidable, decidable_view, tasks_of, user_names
from services.identity import Principal
from services.procurement.purchase_orders import PURCHASE_ORDER

# Entities whose audit trail is part of the approval workflows: readable by any role there.
WORKFLOW_ENTITY_TYPES = frozenset({PURCHASE_ORDER, "approval_instance", "approval_template", "goods_receipt"})


ENTITY_ALIASES = {"workflow_instance": "approval_instance", "workflow": "approval_instance",
                  "workflow_template": "approval_template"}


def my_approvals(session: Session, principal: Principal) -> dict[str, Any]:
    """What this user may decide now (the same rule the approval workflow's validator applies), the
    purchase orders among them, and the goods receipts waiting for their inspection."""
    items = decidable(session, principal)
    approvals_ = [decidable_view(task, instance) for task, instance in items]
    po_ids = [instance.reference_id for _, instance in items if instance.reference_type == PURCHASE_ORDER]
    pos = list(session.scalars(select(PurchaseOrder).where(PurchaseOrder.id.in_(po_ids), PurchaseOrder.status ==
                                                           "pending_approval").order_by(PurchaseOrder.id)))
    pending_pos = [{"id": po.id, "po_number": po.po_number, "status": po.status,
                    "total_amount": as_number(po.total_amount), "currency": po.currency,
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


def po_approval_status(session: Session, po_id: int) -> dict[str, Any]:
    """The PO, its current approval with every step so far, and its history (newest first)."""
    po = session.get(PurchaseOrder, po_id)
    if po is None:
        raise not_found("Purchase order", po_id)
    instance = session.get(ApprovalInstance, po.approval_instance_id) if po.approval_instance_id else None
    tasks = tasks_of(session, instance.id) if instance is not None else []
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
            "total_amount": as_number(po.total_amount), "currency": po.currency, "workflow": workflow,
            "history": [{"action": h.action, "user": names.get(h.user_id or 0), "from_status": h.from_status,
                         "to_status": h.to_status, "comments": h.comments, "timestamp": iso_z(h.created_at)}
                        for h in history]}


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
