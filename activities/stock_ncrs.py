"""The NCR lifecycle's effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.stock import NcrFollowUp, NcrTransition, NcrView
from services.stock import ncrs as stock_ncrs


class NcrActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.transition_ncr, self.follow_up_ncr]

    @activity.defn(name="transition_ncr")
    def transition_ncr(self, change: NcrTransition) -> NcrView:
        with business_errors(), session_scope(self.factory) as session:
            return stock_ncrs.transition(session, change.ncr_uid, change)

    @activity.defn(name="follow_up_ncr")
    def follow_up_ncr(self, follow_up: NcrFollowUp) -> None:
        with business_errors(), session_scope(self.factory) as session:
            stock_ncrs.follow_up(session, follow_up.ncr_uid, follow_up.sent_round)
