"""Goods-receipt effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.procurement import CreateGrn, GrnEffect, GrnView
from services.common.guards import claim_operation
from services.procurement import goods_receipts as receiving


class ReceivingActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_goods_receipt, self.inspect_goods_receipt, self.accept_goods_receipt]

    @activity.defn(name="create_goods_receipt")
    def create_goods_receipt(self, request: CreateGrn) -> GrnView:
        with business_errors(), session_scope(self.factory) as session:
            grn = receiving.create(session, request.grn_id, request.po_id, request.body, request.actor.id)
            return receiving.view(session, grn)

    @activity.defn(name="inspect_goods_receipt")
    def inspect_goods_receipt(self, effect: GrnEffect) -> GrnView:
        payload = effect.command.payload
        return self._once(effect, lambda s: receiving.inspect(s, effect.grn_id, bool(payload["passed"]),
                                                               payload.get("notes"), effect.command.actor.id))

    @activity.defn(name="accept_goods_receipt")
    def accept_goods_receipt(self, effect: GrnEffect) -> GrnView:
        return self._once(effect, lambda s: receiving.accept(s, effect.grn_id, effect.command.actor.id))

    def _once(self, effect: GrnEffect, apply: Callable[[Session], Any]) -> GrnView:
        with business_errors(), session_scope(self.factory) as session:
            grn = apply(session) if claim_operation(session, effect.op_key) else receiving.get_grn(session,
                                                                                                  effect.grn_id)
            return receiving.view(session, grn)
