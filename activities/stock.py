"""The transfer lifecycle's effects: each one DB transaction, harmless to retry. The first three serve
`TransferV2` (its approval inside it); the last two the `Transfer` lifecycles started before it."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.stock import (
    CreateTransfer,
    TransferDecided,
    TransferDecisionEffect,
    TransferOutcomeEffect,
    TransferResult,
    TransferView,
)
from services.stock import transfers as stock_transfers


class TransferActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.request_transfer, self.decide_transfer, self.withdraw_transfer, self.create_transfer,
                self.apply_transfer_outcome]

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with business_errors(), session_scope(self.factory) as session:
            yield session

    @activity.defn(name="request_transfer")
    def request_transfer(self, request: CreateTransfer) -> TransferResult:
        with self._transaction() as session:
            return stock_transfers.request_transfer(session, request, activity.info().workflow_id or "")

    @activity.defn(name="decide_transfer")
    def decide_transfer(self, effect: TransferDecisionEffect) -> TransferDecided:
        with self._transaction() as session:
            transfer, task = stock_transfers.decide(session, effect)
            return TransferDecided(task=task, transfer=transfer)

    @activity.defn(name="withdraw_transfer")
    def withdraw_transfer(self, effect: TransferOutcomeEffect) -> TransferResult:
        with self._transaction() as session:
            return stock_transfers.withdraw(session, effect.transfer_uid, effect.outcome.instance_id,
                                            effect.outcome.decided_by)

    @activity.defn(name="create_transfer")
    def create_transfer(self, request: CreateTransfer) -> TransferView:
        with self._transaction() as session:
            return stock_transfers.create(session, request)

    @activity.defn(name="apply_transfer_outcome")
    def apply_transfer_outcome(self, effect: TransferOutcomeEffect) -> TransferView:
        with self._transaction() as session:
            return stock_transfers.apply_outcome(session, effect.transfer_uid, effect.outcome)
