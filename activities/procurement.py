"""Purchase-order effects: each one DB transaction, harmless to retry.

`PurchasingActivities` serve the `PurchaseOrderV2` lifecycle (its approval and goods receipts included) and
answer small results; `LegacyPurchasingActivities` serve the `PurchaseOrder` lifecycles started before it,
answering the rendered PO as they always did, until those lifecycles have finished."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.procurement import (
    CreateGrn,
    CreatePo,
    GrnEffect,
    GrnResult,
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
from services.procurement import goods_receipts as receiving
from services.procurement import purchase_order_effects
from services.procurement import purchase_orders as purchasing
from services.procurement.purchase_order_effects import receipt_result


class PurchasingActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_po, self.submit_po, self.decide_po_approval, self.withdraw_po_approval, self.order_po,
                self.cancel_po, self.discard_po, self.receive_po_goods, self.inspect_po_goods, self.accept_po_goods]

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with business_errors(), session_scope(self.factory) as session:
            yield session

    @activity.defn(name="create_po")
    def create_po(self, request: CreatePo) -> PoResult:
        with self._transaction() as session:
            actor = request.actor
            return purchasing.result(purchasing.create(session, request.po_id, request.body, actor.id,
                                                       actor.ip_address))

    @activity.defn(name="submit_po")
    def submit_po(self, effect: PoEffect) -> PoSubmitted:
        with self._transaction() as session:
            po, approval = purchasing.submit(session, effect.po_id, effect.command, effect.op_key,
                                             engine_workflow_id=activity.info().workflow_id)
            return PoSubmitted(po=purchasing.result(po), approval=approval)

    @activity.defn(name="decide_po_approval")
    def decide_po_approval(self, effect: PoDecisionEffect) -> PoDecisionResult:
        with self._transaction() as session:
            po, task = purchase_order_effects.decide(session, effect, activity.info().workflow_id or "")
            return PoDecisionResult(task=task, final=effect.decision.final, settled=True, po=purchasing.result(po))

    @activity.defn(name="withdraw_po_approval")
    def withdraw_po_approval(self, effect: OutcomeEffect) -> PoResult:
        with self._transaction() as session:
            return purchasing.result(purchase_order_effects.withdraw(session, effect.po_id, effect.outcome.instance_id,
                                                                     effect.outcome.decided_by))

    @activity.defn(name="order_po")
    def order_po(self, effect: PoEffect) -> PoResult:
        with self._transaction() as session:
            if not claim_operation(session, effect.op_key):
                return purchasing.result(purchasing.get_po(session, effect.po_id))
            return purchasing.result(purchasing.order(session, effect.po_id, effect.command))

    @activity.defn(name="cancel_po")
    def cancel_po(self, effect: PoEffect) -> PoResult:
        with self._transaction() as session:
            return purchasing.result(purchase_order_effects.cancel(session, effect.po_id, effect.command,
                                                                   effect.op_key))

    @activity.defn(name="discard_po")
    def discard_po(self, effect: PoEffect) -> PoResult:
        with self._transaction() as session:
            return PoResult.model_validate(purchasing.discard(session, effect.po_id, effect.command),
                                           from_attributes=True)

    @activity.defn(name="receive_po_goods")
    def receive_po_goods(self, request: CreateGrn) -> GrnResult:
        with self._transaction() as session:
            return receipt_result(receiving.create(session, request.grn_id, request.po_id, request.body,
                                                   request.actor.id))

    @activity.defn(name="inspect_po_goods")
    def inspect_po_goods(self, effect: GrnEffect) -> GrnResult:
        with self._transaction() as session:
            if not claim_operation(session, effect.op_key):
                return receipt_result(receiving.get_grn(session, effect.grn_id))
            payload = effect.command.payload
            return receipt_result(receiving.inspect(session, effect.grn_id, bool(payload["passed"]),
                                                    payload.get("notes"), effect.command.actor.id))

    @activity.defn(name="accept_po_goods")
    def accept_po_goods(self, effect: GrnEffect) -> GrnResult:
        with self._transaction() as session:
            return purchase_order_effects.accept_receipt(session, effect.grn_id, effect.command.actor.id,
                                                         effect.op_key)


class LegacyPurchasingActivities:
    """The effects of `PurchaseOrder` lifecycles started before `PurchaseOrderV2` (same names, same answers)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_purchase_order, self.submit_purchase_order, self.apply_po_approval_outcome,
                self.order_purchase_order, self.cancel_purchase_order, self.discard_purchase_order,
                self.purchase_order_view, self.refresh_po_receipt_status]

    def _viewed(self, change: Callable[[Session], Any]) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.view(session, change(session))

    @activity.defn(name="create_purchase_order")
    def create_purchase_order(self, request: CreatePo) -> PoView:
        return self._viewed(lambda s: purchasing.create(s, request.po_id, request.body, request.actor.id,
                                                        request.actor.ip_address))

    @activity.defn(name="submit_purchase_order")
    def submit_purchase_order(self, effect: PoEffect) -> SubmitResult:
        with business_errors(), session_scope(self.factory) as session:
            po, approval = purchasing.submit(session, effect.po_id, effect.command, effect.op_key)
            return SubmitResult(po=purchasing.view(session, po), approval=approval)

    @activity.defn(name="apply_po_approval_outcome")
    def apply_po_approval_outcome(self, effect: OutcomeEffect) -> PoView:
        return self._viewed(lambda s: purchasing.apply_outcome(s, effect.po_id, effect.outcome))

    @activity.defn(name="order_purchase_order")
    def order_purchase_order(self, effect: PoEffect) -> PoView:
        return self._viewed(lambda s: self._once(s, effect, purchasing.order))

    @activity.defn(name="cancel_purchase_order")
    def cancel_purchase_order(self, effect: PoEffect) -> PoView:
        return self._viewed(lambda s: self._once(s, effect, purchasing.cancel))

    @activity.defn(name="discard_purchase_order")
    def discard_purchase_order(self, effect: PoEffect) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.discard(session, effect.po_id, effect.command, rendered=True)

    @activity.defn(name="purchase_order_view")
    def purchase_order_view(self, po_id: int) -> PoView:
        return self._viewed(lambda s: purchasing.get_po(s, po_id))

    @activity.defn(name="refresh_po_receipt_status")
    def refresh_po_receipt_status(self, po_id: int) -> PoView:
        return self._viewed(lambda s: purchasing.refresh_receipt_status(s, po_id))

    @staticmethod
    def _once(session: Session, effect: PoEffect, apply: Callable[..., Any]) -> Any:
        if not claim_operation(session, effect.op_key):
            return purchasing.get_po(session, effect.po_id)
        return apply(session, effect.po_id, effect.command)
