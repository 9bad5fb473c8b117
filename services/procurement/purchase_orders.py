"""Purchase-order records: totals, draft edits, and the effects of the PO lifecycle (submit, the
approval outcome, order, cancel). Never commits."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import dated_number
from core.settings import get_settings
from core.timeutil import utcnow
from dto.approvals import ApprovalAction, ApprovalOutcome, ApprovalRequest, ApprovalStatus, DecisionEffect, StepEffect
from dto.procurement import PoCommand, PoResult, PoStatus, PoView
from models.approvals import ApprovalInstance, ApprovalTemplate
from models.catalog import Material, Supplier
from models.procurement import PurchaseOrder, PurchaseOrderHistory, PurchaseOrderLine
from services import audit
from services.approvals import engine as approvals
from services.common.guards import check_version, claim_operation, locked
from services.procurement.purchase_order_reads import plain, render

CENT = Decimal("0.01")
HEADER_FIELDS = ("supplier_id", "priority", "required_date", "expected_delivery_date", "tax_amount", "shipping_cost",
                 "discount_amount", "currency", "shipping_method", "shipping_address", "requisition_number",
                 "project_reference", "work_order_reference", "requires_certification", "requires_inspection",
                 "payment_terms", "delivery_terms", "notes")
LINE_FIELDS = ("material_id", "quantity_ordered", "unit_of_measure", "unit_price", "discount_percent",
               "required_date", "specification", "revision", "requires_certification", "requires_inspection", "notes")
CANCELLABLE = (PoStatus.DRAFT, PoStatus.PENDING_APPROVAL, PoStatus.APPROVED, PoStatus.ORDERED)
DECIMAL_FIELDS = frozenset({"tax_amount", "shipping_cost", "discount_amount", "quantity_ordered", "unit_price",
                            "discount_percent"})
DATE_FIELDS = frozenset({"required_date", "expected_delivery_date"})

PURCHASE_ORDER = "purchase_order"  # the reference type of its approval requests and audit rows


def typed(values: dict[str, Any]) -> dict[str, Any]:
    """Values as they arrive from JSON (a lifecycle's input) with amounts as Decimal and dates as dates."""
    result = dict(values)
    for key, value in values.items():
        if value is None:
            continue
        if key in DECIMAL_FIELDS:
            result[key] = Decimal(str(value))
        elif key in DATE_FIELDS and isinstance(value, str):
            result[key] = date.fromisoformat(value)
    return result


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """qty × price × (1 − discount%), rounded to cents."""
    return cents(quantity * unit_price * (Decimal(1) - discount_percent / Decimal(100)))


def lines_of(session: Session, po_id: int) -> list[PurchaseOrderLine]:
    return list(session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po_id)
                                .order_by(PurchaseOrderLine.line_number)))


def recalculate(session: Session, po: PurchaseOrder) -> None:
    po.subtotal = cents(sum((line.total_price for line in lines_of(session, po.id)), Decimal(0)))
    po.total_amount = cents(po.subtotal + (po.tax_amount or 0) + (po.shipping_cost or 0) - (po.discount_amount or 0))


def get_po(session: Session, po_id: int, lock: bool = False) -> PurchaseOrder:
    return locked(session, PurchaseOrder, po_id, "Purchase order") if lock else _found(session.get(PurchaseOrder,
                                                                                                    po_id), po_id)


def find_po(session: Session, po_id: int) -> PurchaseOrder | None:
    return session.get(PurchaseOrder, po_id)


def _found(po: PurchaseOrder | None, po_id: int) -> PurchaseOrder:
    if po is None:
        raise not_found("Purchase order", po_id)
    return po


def require_draft(po: PurchaseOrder, action: str) -> None:
    if po.status != PoStatus.DRAFT:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Cannot {action} purchase order {po.po_number} in status "
                       f"{po.status}; only draft purchase orders can be changed", {"status": po.status})


def _require_supplier(session: Session, supplier_id: int) -> None:
    if session.get(Supplier, supplier_id) is None:
        raise AppError("NOT_FOUND", 404, f"Supplier {supplier_id} not found", {"field": "supplier_id"})


def _new_line(session: Session, po: PurchaseOrder, number: int, values: dict[str, Any]) -> PurchaseOrderLine:
    if session.get(Material, values["material_id"]) is None:
        raise AppError("NOT_FOUND", 404, f"Material {values['material_id']} not found", {"field": "material_id"})
    values = typed(values)
    fields = {k: values[k] for k in LINE_FIELDS if values.get(k) is not None}
    fields.setdefault("discount_percent", Decimal(0))
    line = PurchaseOrderLine(purchase_order_id=po.id, line_number=number, material_stage="on_order",
                             total_price=line_total(fields["quantity_ordered"], fields["unit_price"],
                                                    fields["discount_percent"]), **fields)
    session.add(line)
    return line


def _history(session: Session, po: PurchaseOrder, actor_id: int | None, action: str, from_status: str | None,
             to_status: str, comments: str | None = None, ip: str | None = None) -> None:
    session.add(PurchaseOrderHistory(purchase_order_id=po.id, user_id=actor_id, action=action, from_status=from_status,
                                     to_status=to_status, comments=comments, po_total_at_action=po.total_amount,
                                     po_revision_at_action=po.revision_number, ip_address=ip))


def create(session: Session, po_id: int, body: dict[str, Any], actor_id: int, ip: str | None) -> PurchaseOrder:
    """A draft PO with its lines and totals; creating the same id twice returns the first."""
    existing = session.get(PurchaseOrder, po_id)
    if existing is not None:
        return existing
    _require_supplier(session, body["supplier_id"])
    body = typed(body)
    header = {k: body[k] for k in HEADER_FIELDS if body.get(k) is not None}
    po = PurchaseOrder(id=po_id, po_number=dated_number(session, "PO"), created_by_id=actor_id,
                       status=PoStatus.DRAFT, **header)
    session.add(po)
    session.flush()
    for number, line in enumerate(body.get("line_items") or [], start=1):
        _new_line(session, po, number, line)
    session.flush()
    recalculate(session, po)
    _history(session, po, actor_id, "created", None, PoStatus.DRAFT, ip=ip)
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id, action_type="PO_CREATED",
                 payload_diff=audit.created({"po_number": po.po_number, "supplier_id": po.supplier_id,
                                             "total_amount": po.total_amount}))
    session.flush()
    return po


def update_header(session: Session, po_id: int, changes: dict[str, Any], actor_id: int,
                  expected_version: int | None) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    require_draft(po, "update")
    check_version(po, expected_version, "Purchase order")
    if "supplier_id" in changes:
        _require_supplier(session, changes["supplier_id"])
    before = {k: getattr(po, k) for k in HEADER_FIELDS}
    changes = typed(changes)
    for field in HEADER_FIELDS:
        if field in changes and changes[field] is not None:
            setattr(po, field, changes[field])
    recalculate(session, po)
    po.version += 1
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id, action_type="PO_UPDATED",
                 payload_diff=audit.diff(before, {k: getattr(po, k) for k in HEADER_FIELDS}))
    session.flush()
    return po


def add_line(session: Session, po_id: int, values: dict[str, Any], actor_id: int) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    require_draft(po, "add a line to")
    number = int(session.scalar(select(func.coalesce(func.max(PurchaseOrderLine.line_number), 0))
                                .where(PurchaseOrderLine.purchase_order_id == po.id)) or 0) + 1
    line = _new_line(session, po, number, values)
    session.flush()
    recalculate(session, po)
    po.version += 1
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_LINE_ADDED", payload_diff=audit.created({"line_number": line.line_number,
                                                                          "material_id": line.material_id,
                                                                          "total_price": line.total_price}))
    session.flush()
    return po


def _line(session: Session, po: PurchaseOrder, line_id: int) -> PurchaseOrderLine:
    line = session.get(PurchaseOrderLine, line_id)
    if line is None or line.purchase_order_id != po.id:
        raise not_found("Purchase order line", line_id)
    return line


def update_line(session: Session, po_id: int, line_id: int, changes: dict[str, Any], actor_id: int) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    require_draft(po, "change a line of")
    line = _line(session, po, line_id)
    before = {k: getattr(line, k) for k in LINE_FIELDS}
    changes = typed(changes)
    if changes.get("material_id") is not None and session.get(Material, changes["material_id"]) is None:
        raise AppError("NOT_FOUND", 404, f"Material {changes['material_id']} not found", {"field": "material_id"})
    for field in LINE_FIELDS:
        if changes.get(field) is not None:
            setattr(line, field, changes[field])
    line.total_price = line_total(line.quantity_ordered, line.unit_price, line.discount_percent)
    session.flush()
    recalculate(session, po)
    po.version += 1
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_LINE_UPDATED", payload_diff=audit.diff(before, {k: getattr(line, k)
                                                                                 for k in LINE_FIELDS}))
    session.flush()
    return po


def delete_line(session: Session, po_id: int, line_id: int, actor_id: int) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    require_draft(po, "delete a line of")
    line = _line(session, po, line_id)
    session.delete(line)
    session.flush()
    recalculate(session, po)
    po.version += 1
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_LINE_DELETED", payload_diff={"line_number": {"old": line.line_number, "new": None}})
    session.flush()
    return po


# --- lifecycle effects (called from the purchase-order workflow's activities) ------------------------

def view(session: Session, po: PurchaseOrder) -> PoView:
    """The PO with its rendered body (what the first lifecycles carried through Temporal)."""
    return PoView(id=po.id, status=PoStatus(po.status), version=po.version, total_amount=po.total_amount,
                  revision_number=po.revision_number, approval_instance_id=po.approval_instance_id,
                  po_number=po.po_number, data=render(session, po))


def result(po: PurchaseOrder) -> PoResult:
    """What a lifecycle needs of the PO after an effect; the API reads the body itself."""
    return PoResult(id=po.id, status=PoStatus(po.status), version=po.version,
                    approval_instance_id=po.approval_instance_id, po_number=po.po_number)


def submit(session: Session, po_id: int, command: PoCommand, op_key: str,
           engine_workflow_id: str | None = None) -> tuple[PurchaseOrder, ApprovalRequest | None]:
    """Hand the PO to the approval engine with its total; below the auto-approve threshold it is
    approved at once. A resubmission (after rejection or return) is the next revision. With
    `engine_workflow_id` the engine runs in that workflow (the PO's own) and the first step opens here."""
    po = get_po(session, po_id, lock=True)
    if not claim_operation(session, op_key):
        return po, _pending_request(session, po)
    require_draft(po, "submit")
    check_version(po, command.expected_version, "Purchase order")
    lines = lines_of(session, po.id)
    if not lines:
        raise AppError("VALIDATION_ERROR", 422, "A purchase order needs at least one line item to be submitted")
    if session.scalar(select(func.count()).where(PurchaseOrderHistory.purchase_order_id == po.id,
                                                 PurchaseOrderHistory.action == "submitted")):
        po.revision_number += 1
    template_id, steps = approvals.plan(session, "purchase_order", po.total_amount)
    notes = command.payload.get("notes")
    instance = approvals.create_instance(
        session, template_id=template_id, reference_type="purchase_order", reference_id=po.id,
        reference_number=po.po_number, amount=po.total_amount, currency=po.currency, requester_id=command.actor.id,
        steps=steps, priority=po.priority, notes=notes, extra_data=_extra_data(session, po, len(lines)),
        workflow_id=engine_workflow_id)
    po.approval_instance_id, po.version = instance.id, po.version + 1
    _history(session, po, command.actor.id, "submitted", PoStatus.DRAFT, PoStatus.PENDING_APPROVAL,
             notes or "Submitted for approval", command.actor.ip_address)
    po.status = PoStatus.PENDING_APPROVAL
    if not steps:
        _approve(session, po, None, f"Auto-approved: below the auto-approve threshold ({po.currency} "
                 f"{po.total_amount:,.2f})")
    audit.record(session, actor_id=command.actor.id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_SUBMITTED", payload_diff={"status": {"old": "draft", "new": po.status},
                                                           "approval_instance_id": {"old": None, "new": instance.id}})
    if steps and engine_workflow_id is not None:
        approvals.open_step(session, StepEffect(instance_id=instance.id, step=steps[0],
                                                op_key=f"{engine_workflow_id}:step-1"))
    session.flush()
    return po, _request(po, instance.id, steps, command.actor.id)


def _request(po: PurchaseOrder, instance_id: int, steps: list[Any], requester_id: int) -> ApprovalRequest | None:
    if not steps:
        return None
    return ApprovalRequest(instance_id=instance_id, reference_type="purchase_order", reference_id=po.id,
                           amount=po.total_amount, requester_id=requester_id, steps=steps,
                           allow_self_approval=get_settings().allow_self_approval)


def _pending_request(session: Session, po: PurchaseOrder) -> ApprovalRequest | None:
    if po.status != PoStatus.PENDING_APPROVAL or po.approval_instance_id is None:
        return None
    instance = approvals.get_instance(session, po.approval_instance_id)
    template = session.get(ApprovalTemplate, instance.template_id) if instance.template_id else None
    steps = approvals.steps_for(session, template, instance.amount) if template else []
    return _request(po, instance.id, steps, instance.requested_by or 0)  # the plan the first attempt made


def _extra_data(session: Session, po: PurchaseOrder, line_count: int) -> dict[str, Any]:
    supplier = session.get(Supplier, po.supplier_id)
    return {"supplier_name": supplier.name if supplier else None, "po_date": po.po_date,
            "line_item_count": line_count}


def _approve(session: Session, po: PurchaseOrder, approver_id: int | None, comments: str | None) -> None:
    po.status, po.approved_by_id, po.approved_at = PoStatus.APPROVED, approver_id, utcnow()
    if approver_id is None:
        _history(session, po, None, "approved", PoStatus.PENDING_APPROVAL, PoStatus.APPROVED, comments)


def apply_outcome(session: Session, po_id: int, outcome: ApprovalOutcome) -> PurchaseOrder:
    """The approval engine's answer: approved → approved; rejected, returned or a cancelled approval → back
    to draft (a cancelled PO stays cancelled)."""
    po = get_po(session, po_id, lock=True)
    if po.approval_instance_id != outcome.instance_id or po.status != PoStatus.PENDING_APPROVAL:
        return po  # already applied, or the PO moved on (cancelled)
    before = po.status
    if outcome.status == ApprovalStatus.APPROVED:
        _approve(session, po, outcome.decided_by, outcome.comments)
    else:
        po.status = PoStatus.DRAFT
        if outcome.status == ApprovalStatus.CANCELLED:
            _history(session, po, outcome.decided_by, "cancelled", before, PoStatus.DRAFT,
                     "Approval cancelled; back to draft")
    po.version += 1
    audit.record(session, actor_id=outcome.decided_by, entity_type="purchase_order", entity_id=po.id,
                 action_type=f"PO_{outcome.status.value.upper()}",
                 payload_diff={"status": {"old": before, "new": po.status}})
    session.flush()
    return po


def order(session: Session, po_id: int, command: PoCommand) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    check_version(po, command.expected_version, "Purchase order")
    if po.status != PoStatus.APPROVED:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Only an approved purchase order can be ordered; "
                       f"{po.po_number} is {po.status}", {"status": po.status})
    po.status, po.ordered_at, po.version = PoStatus.ORDERED, utcnow(), po.version + 1
    po.tracking_number = command.payload.get("tracking_number") or po.tracking_number
    _history(session, po, command.actor.id, "ordered", PoStatus.APPROVED, PoStatus.ORDERED,
             f"Tracking number {po.tracking_number}" if po.tracking_number else None, command.actor.ip_address)
    audit.record(session, actor_id=command.actor.id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_ORDERED", payload_diff={"status": {"old": "approved", "new": "ordered"},
                                                         "tracking_number": {"old": None, "new": po.tracking_number}})
    session.flush()
    return po


def cancel(session: Session, po_id: int, command: PoCommand) -> PurchaseOrder:
    po = get_po(session, po_id, lock=True)
    check_version(po, command.expected_version, "Purchase order")
    received = session.scalar(select(func.coalesce(func.sum(PurchaseOrderLine.quantity_received), 0))
                              .where(PurchaseOrderLine.purchase_order_id == po.id))
    if po.status not in CANCELLABLE or received:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Purchase order {po.po_number} cannot be cancelled in status "
                       f"{po.status}" + (" once goods are received" if received else ""), {"status": po.status})
    before = po.status
    po.status, po.cancel_reason, po.version = PoStatus.CANCELLED, command.payload.get("reason"), po.version + 1
    _history(session, po, command.actor.id, "cancelled", before, PoStatus.CANCELLED, po.cancel_reason,
             command.actor.ip_address)
    audit.record(session, actor_id=command.actor.id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_CANCELLED", payload_diff={"status": {"old": before, "new": "cancelled"},
                                                           "reason": {"old": None, "new": po.cancel_reason}})
    session.flush()
    return po


def discard(session: Session, po_id: int, command: PoCommand, rendered: bool = False) -> PoView:
    """Delete a draft PO (its lines and history go with it); the audit trail keeps the record. The answer
    carries the PO's body only when `rendered` (the first lifecycles carried it)."""
    po = get_po(session, po_id, lock=True)
    require_draft(po, "delete")
    result = view(session, po) if rendered else PoView(
        id=po.id, status=PoStatus(po.status), version=po.version, total_amount=po.total_amount,
        revision_number=po.revision_number, po_number=po.po_number)
    audit.record(session, actor_id=command.actor.id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_DELETED", payload_diff={"po_number": {"old": po.po_number, "new": None}})
    session.delete(po)
    session.flush()
    return result


# --- reads ------------------------------------------------------------------------------------------

def history(session: Session, po_id: int) -> list[dict[str, Any]]:
    get_po(session, po_id)
    rows = session.scalars(select(PurchaseOrderHistory).where(PurchaseOrderHistory.purchase_order_id == po_id)
                           .order_by(PurchaseOrderHistory.created_at.desc(), PurchaseOrderHistory.id.desc()))
    return [{**plain(row, PurchaseOrderHistory.__table__.columns), "created_at": row.created_at.isoformat()
             .replace("+00:00", "Z")} for row in rows]


def refresh_receipt_status(session: Session, po_id: int, locked_po: PurchaseOrder | None = None) -> PurchaseOrder:
    """After a receipt was accepted: `received` when every line is fully accepted, else `partially_received`.
    `locked_po`: the PO, already locked in this transaction."""
    po = locked_po or get_po(session, po_id, lock=True)
    if po.status not in (PoStatus.APPROVED, PoStatus.ORDERED, PoStatus.PARTIALLY_RECEIVED):
        return po
    lines = lines_of(session, po.id)
    if not any(line.quantity_accepted > 0 for line in lines):
        return po
    target = (PoStatus.RECEIVED if all(line.quantity_accepted >= line.quantity_ordered for line in lines)
              else PoStatus.PARTIALLY_RECEIVED)
    if target != po.status:
        before = po.status
        po.status, po.version = target, po.version + 1
        _history(session, po, None, target.value, before, target)
        audit.record(session, actor_id=None, entity_type="purchase_order", entity_id=po.id,
                     action_type=f"PO_{target.value.upper()}", payload_diff={"status": {"old": before, "new": target}})
        session.flush()
    return po


def decision_history(session: Session, instance: ApprovalInstance, effect: DecisionEffect) -> None:
    """The approval engine's hook: a decision on a PO's approval writes its history row."""
    po = session.get(PurchaseOrder, instance.reference_id)
    if po is None:
        return
    action = effect.decision.action
    to_status = ("pending_approval" if not effect.final else "approved" if action == ApprovalAction.APPROVED
                 else "draft")
    session.add(PurchaseOrderHistory(purchase_order_id=po.id, user_id=effect.decision.actor.id, action=action.value,
                                     from_status="pending_approval", to_status=to_status,
                                     comments=effect.decision.comments, po_total_at_action=po.total_amount,
                                     po_revision_at_action=po.revision_number,
                                     ip_address=effect.decision.actor.ip_address))


def number_and_status(session: Session, po_id: int) -> tuple[str, str] | None:
    po = session.get(PurchaseOrder, po_id)
    return None if po is None else (po.po_number, po.status)


approvals.register_entity(PURCHASE_ORDER, approvals.ApprovedEntity(
    "Purchase order", on_decision=decision_history, submitted_by="POST /api/v1/workflows/po/{po_id}/submit",
    state_of=number_and_status))
