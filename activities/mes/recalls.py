"""A recall's effects (`recall-{id}`): each one DB transaction, harmless to repeat."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.mes.recalls import (
    FINISH_RECALL,
    SEND_RECALL_NOTICE,
    FinishRecall,
    NoticeOutcome,
    RecallOutcome,
    SendRecallNotice,
)
from services.mes import recalls


class RecallActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.send_recall_notice, self.finish_recall]

    @activity.defn(name=SEND_RECALL_NOTICE.name)
    def send_recall_notice(self, command: SendRecallNotice) -> NoticeOutcome:
        """One affected customer's notice into the outbox (or failed: no e-mail)."""
        with self.transaction() as session:
            return recalls.send_notice(session, command)

    @activity.defn(name=FINISH_RECALL.name)
    def finish_recall(self, command: FinishRecall) -> RecallOutcome:
        """Every customer was notified: the recall is `notified`."""
        with self.transaction() as session:
            return recalls.finish(session, command)
