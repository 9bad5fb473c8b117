"""The shift handover lifecycle's effect (`shift-handover-{id}`): the reminder to the supervisors, one DB transaction,
harmless to retry."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.mes.handovers import REMIND_SHIFT_HANDOVER, HandoverReminder, HandoverState
from services.mes import handovers


class HandoverActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.remind_shift_handover]

    @activity.defn(name=REMIND_SHIFT_HANDOVER.name)
    def remind_shift_handover(self, reminder: HandoverReminder) -> HandoverState:
        with self.transaction() as session:
            return handovers.remind(session, reminder)
