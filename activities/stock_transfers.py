"""The transfer lifecycle's effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from services import stock_transfers
from workflows.stock_dto import CreateTransfer, TransferOutcomeEffect, TransferView


class TransferActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_transfer, self.apply_transfer_outcome]

    @activity.defn(name="create_transfer")
    def create_transfer(self, request: CreateTransfer) -> TransferView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_transfers.create(session, request)

    @activity.defn(name="apply_transfer_outcome")
    def apply_transfer_outcome(self, effect: TransferOutcomeEffect) -> TransferView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_transfers.apply_outcome(session, effect.transfer_uid, effect.outcome)
