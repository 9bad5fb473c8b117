"""Purchase-order and goods-receipt effects: each one DB transaction, harmless to retry.

`PurchasingActivities` serve the `PurchaseOrderV2` lifecycle (its approval and goods receipts included) and
answer small results; `LegacyPurchasingActivities` serve the `PurchaseOrder` lifecycles started before it,
answering the rendered PO as they always did, until those lifecycles have finished; `ReceivingActivities` serve
the `GoodsReceipt` lifecycles, kept for those started before `PurchaseOrderV2` held its receipts."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from temporalio import activity

from activities.base import Effects
from dto.procurement import (
    ACCEPT_GOODS_RECEIPT,
    ACCEPT_PO_GOODS,
    APPLY_PO_APPROVAL_OUTCOME,
    CANCEL_PO,
    CANCEL_PURCHASE_ORDER,
    CREATE_GOODS_RECEIPT,
    CREATE_PO,
    CREATE_PURCHASE_ORDER,
    DECIDE_PO_APPROVAL,
    DISCARD_PO,
    DISCARD_PURCHASE_ORDER,
    INSPECT_GOODS_RECEIPT,
    INSPECT_PO_GOODS,
    ORDER_PO,
    ORDER_PURCHASE_ORDER,
    PURCHASE_ORDER_VIEW,
    RECEIVE_PO_GOODS,
    REFRESH_PO_RECEIPT_STATUS,
    SUBMIT_PO,
    SUBMIT_PURCHASE_ORDER,
    WITHDRAW_PO_APPROVAL,
    CreateGrn,
    CreatePo,
    GrnEffect,
    GrnResult,
    GrnView,
    OutcomeEffect,
    PoDecisionEffect,
    PoDecisionResult,
    PoEffect,
    PoResult,
    PoSubmitted,
    PoView,
    SubmitResult,
)
from services.common.guards import claim_operation
from services.procurement import goods_receipts, purchase_order_effects, purchase_orders
from services.procurement.purchase_order_effects import receipt_result


class PurchasingActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.create_po, self.submit_po, self.decide_po_approval, self.withdraw_po_approval, self.order_po,
                self.cancel_po, self.discard_po, self.receive_po_goods, self.inspect_po_goods, self.accept_po_goods]

    @activity.defn(name=CREATE_PO.name)
    def create_po(self, request: CreatePo) -> PoResult:
        with self.transaction() as session:
            actor = request.actor
            return purchase_orders.result(purchase_orders.create(session, request.po_id, request.body, actor.id,
                                                                 actor.ip_address))

    @activity.defn(name=SUBMIT_PO.name)
    def submit_po(self, effect: PoEffect) -> PoSubmitted:
        with self.transaction() as session:
            po, approval = purchase_orders.submit(session, effect.po_id, effect.command, effect.op_key,
                                                  engine_workflow_id=activity.info().workflow_id)
            return PoSubmitted(po=purchase_orders.result(po), approval=approval)

    @activity.defn(name=DECIDE_PO_APPROVAL.name)
    def decide_po_approval(self, effect: PoDecisionEffect) -> PoDecisionResult:
        with self.transaction() as session:
            po, task = purchase_order_effects.decide(session, effect, activity.info().workflow_id or "")
            return PoDecisionResult(task=task, final=effect.decision.final, settled=True, po=purchase_orders.result(po))

    @activity.defn(name=WITHDRAW_PO_APPROVAL.name)
    def withdraw_po_approval(self, effect: OutcomeEffect) -> PoResult:
        with self.transaction() as session:
            po = purchase_order_effects.withdraw(session, effect.po_id, effect.outcome.instance_id,
                                                 effect.outcome.decided_by)
            return purchase_orders.result(po)

    @activity.defn(name=ORDER_PO.name)
    def order_po(self, effect: PoEffect) -> PoResult:
        with self.transaction() as session:
            if not claim_operation(session, effect.op_key):
                return purchase_orders.result(purchase_orders.get_po(session, effect.po_id))
            return purchase_orders.result(purchase_orders.order(session, effect.po_id, effect.command))

    @activity.defn(name=CANCEL_PO.name)
    def cancel_po(self, effect: PoEffect) -> PoResult:
        with self.transaction() as session:
            return purchase_orders.result(purchase_order_effects.cancel(session, effect.po_id, effect.command,
                                                                        effect.op_key))

    @activity.defn(name=DISCARD_PO.name)
    def discard_po(self, effect: PoEffect) -> PoResult:
        with self.transaction() as session:
            return PoResult.model_validate(purchase_orders.discard(session, effect.po_id, effect.command),
                                           from_attributes=True)

    @activity.defn(name=RECEIVE_PO_GOODS.name)
    def receive_po_goods(self, request: CreateGrn) -> GrnResult:
        with self.transaction() as session:
            return receipt_result(goods_receipts.create(session, request.grn_id, request.po_id, request.body,
                                                        request.actor.id))

    @activity.defn(name=INSPECT_PO_GOODS.name)
    def inspect_po_goods(self, effect: GrnEffect) -> GrnResult:
        with self.transaction() as session:
            if not claim_operation(session, effect.op_key):
                return receipt_result(goods_receipts.get_grn(session, effect.grn_id))
            payload = effect.command.payload
            return receipt_result(goods_receipts.inspect(session, effect.grn_id, bool(payload["passed"]),
                                                         payload.get("notes"), effect.command.actor.id))

    @activity.defn(name=ACCEPT_PO_GOODS.name)
    def accept_po_goods(self, effect: GrnEffect) -> GrnResult:
        with self.transaction() as session:
            return purchase_order_effects.accept_receipt(session, effect.grn_id, effect.command.actor.id,
                                                         effect.op_key)


class LegacyPurchasingActivities(Effects):
    """The effects of `PurchaseOrder` lifecycles started before `PurchaseOrderV2` (same names, same answers)."""

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_purchase_order, self.submit_purchase_order, self.apply_po_approval_outcome,
                self.order_purchase_order, self.cancel_purchase_order, self.discard_purchase_order,
                self.purchase_order_view, self.refresh_po_receipt_status]

    def _viewed(self, change: Callable[[Session], Any]) -> PoView:
        with self.transaction() as session:
            return purchase_orders.view(session, change(session))

    @activity.defn(name=CREATE_PURCHASE_ORDER.name)
    def create_purchase_order(self, request: CreatePo) -> PoView:
        return self._viewed(lambda s: purchase_orders.create(s, request.po_id, request.body, request.actor.id,
                                                             request.actor.ip_address))

    @activity.defn(name=SUBMIT_PURCHASE_ORDER.name)
    def submit_purchase_order(self, effect: PoEffect) -> SubmitResult:
        with self.transaction() as session:
            po, approval = purchase_orders.submit(session, effect.po_id, effect.command, effect.op_key)
            return SubmitResult(po=purchase_orders.view(session, po), approval=approval)

    @activity.defn(name=APPLY_PO_APPROVAL_OUTCOME.name)
    def apply_po_approval_outcome(self, effect: OutcomeEffect) -> PoView:
        return self._viewed(lambda s: purchase_orders.apply_outcome(s, effect.po_id, effect.outcome))

    @activity.defn(name=ORDER_PURCHASE_ORDER.name)
    def order_purchase_order(self, effect: PoEffect) -> PoView:
        return self._viewed(lambda s: self._once(s, effect, purchase_orders.order))

    @activity.defn(name=CANCEL_PURCHASE_ORDER.name)
    def cancel_purchase_order(self, effect: PoEffect) -> PoView:
        return self._viewed(lambda s: self._once(s, effect, purchase_orders.cancel))

    @activity.defn(name=DISCARD_PURCHASE_ORDER.name)
    def discard_purchase_order(self, effect: PoEffect) -> PoView:
        with self.transaction() as session:
            return purchase_orders.discard(session, effect.po_id, effect.command, rendered=True)

    @activity.defn(name=PURCHASE_ORDER_VIEW.name)
    def purchase_order_view(self, po_id: int) -> PoView:
        return self._viewed(lambda s: purchase_orders.get_po(s, po_id))

    @activity.defn(name=REFRESH_PO_RECEIPT_STATUS.name)
    def refresh_po_receipt_status(self, po_id: int) -> PoView:
        return self._viewed(lambda s: purchase_orders.refresh_receipt_status(s, po_id))

    @staticmethod
    def _once(session: Session, effect: PoEffect, apply: Callable[..., Any]) -> Any:
        if not claim_operation(session, effect.op_key):
            return purchase_orders.get_po(session, effect.po_id)
        return apply(session, effect.po_id, effect.command)


class ReceivingActivities(Effects):
    """The effects of `GoodsReceipt` lifecycles."""

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_goods_receipt, self.inspect_goods_receipt, self.accept_goods_receipt]

    @activity.defn(name=CREATE_GOODS_RECEIPT.name)
    def create_goods_receipt(self, request: CreateGrn) -> GrnView:
        with self.transaction() as session:
            grn = goods_receipts.create(session, request.grn_id, request.po_id, request.body, request.actor.id)
            return goods_receipts.view(session, grn)

    @activity.defn(name=INSPECT_GOODS_RECEIPT.name)
    def inspect_goods_receipt(self, effect: GrnEffect) -> GrnView:
        payload = effect.command.payload
        return self._once(effect, lambda s: goods_receipts.inspect(s, effect.grn_id, bool(payload["passed"]),
                                                               payload.get("notes"), effect.command.actor.id))

    @activity.defn(name=ACCEPT_GOODS_RECEIPT.name)
    def accept_goods_receipt(self, effect: GrnEffect) -> GrnView:
        return self._once(effect, lambda s: goods_receipts.accept(s, effect.grn_id, effect.command.actor.id))

    def _once(self, effect: GrnEffect, apply: Callable[[Session], Any]) -> GrnView:
        with self.transaction() as session:
            grn = apply(session) if claim_operation(session, effect.op_key) else goods_receipts.get_grn(session,
                                                                                                  effect.grn_id)
            return goods_receipts.view(session, grn)
