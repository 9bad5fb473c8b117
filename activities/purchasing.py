"""Purchase-order effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from services import purchasing
from services.guards import claim_operation
from workflows.procurement_dto import CreatePo, OutcomeEffect, PoEffect, PoView, SubmitResult


class PurchasingActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_purchase_order, self.submit_purchase_order, self.apply_po_approval_outcome,
                self.order_purchase_order, self.cancel_purchase_order, self.discard_purchase_order,
                self.purchase_order_view, self.refresh_po_receipt_status]

    @activity.defn(name="create_purchase_order")
    def create_purchase_order(self, request: CreatePo) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            po = purchasing.create(session, request.po_id, request.body, request.actor.id, request.actor.ip_address)
            return purchasing.view(session, po)

    @activity.defn(name="submit_purchase_order")
    def submit_purchase_order(self, effect: PoEffect) -> SubmitResult:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.submit(session, effect.po_id, effect.command, effect.op_key)

    @activity.defn(name="apply_po_approval_outcome")
    def apply_po_approval_outcome(self, effect: OutcomeEffect) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.apply_outcome(session, effect.po_id, effect.outcome)

    @activity.defn(name="order_purchase_order")
    def order_purchase_order(self, effect: PoEffect) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return self._once(session, effect, purchasing.order)

    @activity.defn(name="cancel_purchase_order")
    def cancel_purchase_order(self, effect: PoEffect) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return self._once(session, effect, purchasing.cancel)

    @activity.defn(name="discard_purchase_order")
    def discard_purchase_order(self, effect: PoEffect) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.discard(session, effect.po_id, effect.command)

    @activity.defn(name="purchase_order_view")
    def purchase_order_view(self, po_id: int) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.view(session, purchasing.get_po(session, po_id))

    @activity.defn(name="refresh_po_receipt_status")
    def refresh_po_receipt_status(self, po_id: int) -> PoView:
        with business_errors(), session_scope(self.factory) as session:
            return purchasing.refresh_receipt_status(session, po_id)

    @staticmethod
    def _once(session: Session, effect: PoEffect, apply: Callable[..., PoView]) -> PoView:
        if not claim_operation(session, effect.op_key):
            return purchasing.view(session, purchasing.get_po(session, effect.po_id))
        return apply(session, effect.po_id, effect.command)
