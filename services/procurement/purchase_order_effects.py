"""The effects of a purchase order's lifecycle that span its approval and its goods receipts, each one
transaction: a decision recorded with its consequence for the PO (the outcome applied, or the next step
opened), a withdrawn or cancelled approval closed with the PO, an accepted receipt with the PO's receipt
status. The PO's own lifecycle runs them (workflows/procurement/purchase_order.py). Never commits."""

from sqlalchemy.orm import Session

from dto.approvals import ApprovalOutcome, ApprovalStatus, StepEffect, TaskView
from dto.procurement import GrnResult, GrnStatus, PoCommand, PoDecisionEffect, PoStatus
from models.procurement import GoodsReceipt, PurchaseOrder
from services.approvals import engine as approvals
from services.common.guards import claim_operation
from services.procurement import goods_receipts, purchase_orders


def decide(session: Session, effect: PoDecisionEffect, engine_workflow_id: str) -> tuple[PurchaseOrder, TaskView]:
    """Record the step's decision; a final one closes the request and applies its outcome to the PO, any other
    opens the next step. Retrying is harmless: each part finds its own work done."""
    decision = effect.decision
    task = approvals.record_decision(session, decision)
    if decision.final:
        made = decision.decision
        outcome = ApprovalOutcome(instance_id=decision.instance_id, status=ApprovalStatus(made.action.value),
                                  decided_by=made.actor.id, comments=made.comments)
        approvals.finish(session, outcome)
        return purchase_orders.apply_outcome(session, effect.po_id, outcome), task
    assert effect.next_step is not None
    approvals.open_step(session, StepEffect(instance_id=decision.instance_id, step=effect.next_step,
                                            op_key=f"{engine_workflow_id}:step-{effect.next_step.step_number}"))
    return purchase_orders.get_po(session, effect.po_id), task


def withdraw(session: Session, po_id: int, instance_id: int, actor_id: int | None) -> PurchaseOrder:
    """The requester withdrew the approval request: it ends cancelled and the PO is a draft again."""
    outcome = ApprovalOutcome(instance_id=instance_id, status=ApprovalStatus.CANCELLED, decided_by=actor_id)
    approvals.finish(session, outcome)
    return purchase_orders.apply_outcome(session, po_id, outcome)


def cancel(session: Session, po_id: int, command: PoCommand, op_key: str) -> PurchaseOrder:
    """Cancel the PO; an approval it was waiting for ends cancelled by the same person."""
    po = purchase_orders.get_po(session, po_id, lock=True)
    if not claim_operation(session, op_key):
        return po
    pending = po.approval_instance_id if po.status == PoStatus.PENDING_APPROVAL else None
    po = purchase_orders.cancel(session, po_id, command)
    if pending is not None:
        approvals.finish(session, ApprovalOutcome(instance_id=pending, status=ApprovalStatus.CANCELLED,
                                                  decided_by=command.actor.id))
    return po


def accept_receipt(session: Session, grn_id: int, actor_id: int, op_key: str) -> GrnResult:
    """Into inventory, and the PO (partially) received, in one transaction."""
    if claim_operation(session, op_key):
        grn = goods_receipts.accept(session, grn_id, actor_id)
        po = session.get(PurchaseOrder, grn.purchase_order_id)  # from the session: accept locked it
    else:
        grn = goods_receipts.get_grn(session, grn_id)
        po = purchase_orders.get_po(session, grn.purchase_order_id, lock=True)
    assert po is not None
    return receipt_result(grn, purchase_orders.refresh_receipt_status(session, po.id, po))


def receipt_result(grn: GoodsReceipt, po: PurchaseOrder | None = None) -> GrnResult:
    return GrnResult(id=grn.id, status=GrnStatus(grn.status), purchase_order_id=grn.purchase_order_id,
                     version=grn.version, po_status=PoStatus(po.status) if po is not None else None)
