"""The stock lifecycles' effects: each one DB transaction, harmless to retry.

`TransferActivities`: the first three serve `TransferV2` (its approval inside it); the last two the `Transfer`
lifecycles started before it. `NcrActivities` serve the NCR lifecycle, `PeriodCloseActivities` the period close
(its closing-stock snapshot a chunk per activity)."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.stock import (
    APPLY_TRANSFER_OUTCOME,
    CREATE_TRANSFER,
    DECIDE_TRANSFER,
    FINISH_PERIOD_CLOSE,
    FOLLOW_UP_NCR,
    REOPEN_PERIOD,
    REQUEST_PERIOD_CLOSE,
    REQUEST_TRANSFER,
    SNAPSHOT_CLOSING_STOCK,
    TRANSITION_NCR,
    WITHDRAW_TRANSFER,
    CloseOutcomeEffect,
    CreateTransfer,
    NcrFollowUp,
    NcrTransition,
    NcrView,
    PeriodCloseView,
    RequestPeriodClose,
    SnapshotChunk,
    SnapshotProgress,
    TransferDecided,
    TransferDecisionEffect,
    TransferOutcomeEffect,
    TransferResult,
    TransferView,
)
from services.stock import ncrs as stock_ncrs
from services.stock import transfers as stock_transfers
from services.stock.periods import close as stock_period_close


class TransferActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.request_transfer, self.decide_transfer, self.withdraw_transfer, self.create_transfer,
                self.apply_transfer_outcome]

    @activity.defn(name=REQUEST_TRANSFER.name)
    def request_transfer(self, request: CreateTransfer) -> TransferResult:
        with self.transaction() as session:
            return stock_transfers.request_transfer(session, request, activity.info().workflow_id or "")

    @activity.defn(name=DECIDE_TRANSFER.name)
    def decide_transfer(self, effect: TransferDecisionEffect) -> TransferDecided:
        with self.transaction() as session:
            transfer, task = stock_transfers.decide(session, effect)
            return TransferDecided(task=task, transfer=transfer)

    @activity.defn(name=WITHDRAW_TRANSFER.name)
    def withdraw_transfer(self, effect: TransferOutcomeEffect) -> TransferResult:
        with self.transaction() as session:
            return stock_transfers.withdraw(session, effect.transfer_uid, effect.outcome.instance_id,
                                            effect.outcome.decided_by)

    @activity.defn(name=CREATE_TRANSFER.name)
    def create_transfer(self, request: CreateTransfer) -> TransferView:
        with self.transaction() as session:
            return stock_transfers.create(session, request)

    @activity.defn(name=APPLY_TRANSFER_OUTCOME.name)
    def apply_transfer_outcome(self, effect: TransferOutcomeEffect) -> TransferView:
        with self.transaction() as session:
            return stock_transfers.apply_outcome(session, effect.transfer_uid, effect.outcome)


class NcrActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.transition_ncr, self.follow_up_ncr]

    @activity.defn(name=TRANSITION_NCR.name)
    def transition_ncr(self, change: NcrTransition) -> NcrView:
        with self.transaction() as session:
            return stock_ncrs.transition(session, change.ncr_uid, change)

    @activity.defn(name=FOLLOW_UP_NCR.name)
    def follow_up_ncr(self, follow_up: NcrFollowUp) -> None:
        with self.transaction() as session:
            stock_ncrs.follow_up(session, follow_up.ncr_uid, follow_up.sent_round)


class PeriodCloseActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.request_period_close, self.reopen_period, self.snapshot_closing_stock, self.finish_period_close]

    @activity.defn(name=REQUEST_PERIOD_CLOSE.name)
    def request_period_close(self, request: RequestPeriodClose) -> PeriodCloseView:
        with self.transaction() as session:
            return stock_period_close.request_close(session, request)

    @activity.defn(name=REOPEN_PERIOD.name)
    def reopen_period(self, effect: CloseOutcomeEffect) -> PeriodCloseView:
        with self.transaction() as session:
            return stock_period_close.apply_rejection(session, effect.period_uid, effect.outcome)

    @activity.defn(name=SNAPSHOT_CLOSING_STOCK.name)
    def snapshot_closing_stock(self, chunk: SnapshotChunk) -> SnapshotProgress:
        with self.transaction() as session:
            return stock_period_close.snapshot_chunk(session, chunk)

    @activity.defn(name=FINISH_PERIOD_CLOSE.name)
    def finish_period_close(self, effect: CloseOutcomeEffect) -> PeriodCloseView:
        with self.transaction() as session:
            return stock_period_close.finish_close(session, effect.period_uid, effect.outcome.decided_by)
