"""The period-close lifecycle's effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.stock import CloseOutcomeEffect, PeriodCloseView, RequestPeriodClose, SnapshotChunk, SnapshotProgress
from services.stock.periods import close as stock_period_close


class PeriodCloseActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.request_period_close, self.reopen_period, self.snapshot_closing_stock, self.finish_period_close]

    @activity.defn(name="request_period_close")
    def request_period_close(self, request: RequestPeriodClose) -> PeriodCloseView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_period_close.request_close(session, request)

    @activity.defn(name="reopen_period")
    def reopen_period(self, effect: CloseOutcomeEffect) -> PeriodCloseView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_period_close.apply_rejection(session, effect.period_uid, effect.outcome)

    @activity.defn(name="snapshot_closing_stock")
    def snapshot_closing_stock(self, chunk: SnapshotChunk) -> SnapshotProgress:
        with business_errors(), session_scope(self.factory) as session:
            return stock_period_close.snapshot_chunk(session, chunk)

    @activity.defn(name="finish_period_close")
    def finish_period_close(self, effect: CloseOutcomeEffect) -> PeriodCloseView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_period_close.finish_close(session, effect.period_uid, effect.outcome.decided_by)
