"""A shift handover's lifecycle (`shift-handover-{id}`, type `ShiftHandover`): it waits for the acknowledgement (the
acknowledge route commits it, then signals `acknowledged`) for SHIFT_HANDOVER_ACK_SECONDS, fixed when it starts.
Acknowledged in time, it ends. Otherwise it reminds the plant's supervisors once (the effect records `reminded_at`,
or finds the handover acknowledged meanwhile and reminds nobody) and ends: a later acknowledgement is a plain write
the lifecycle need not wait for. It ends after the acknowledgement or the reminder, whichever comes first."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from dto.mes.handovers import (
        REMIND_SHIFT_HANDOVER,
        SHIFT_HANDOVER,
        HandoverAcknowledged,
        HandoverInput,
        HandoverReminder,
    )
    from workflows.lifecycle import effect, show

AWAITING = "awaiting_acknowledgement"
ACKNOWLEDGED = "acknowledged"
REMINDED = "reminded"
GONE = "gone"  # the handover was not there to remind about
RETRY_REMINDER = timedelta(minutes=1)


def shift_handover_workflow_id(handover_id: int) -> str:
    return f"shift-handover-{handover_id}"


@workflow.defn(name="ShiftHandover")
class ShiftHandoverWorkflow:
    @workflow.init
    def __init__(self, input: HandoverInput) -> None:
        self.handover_id = input.handover_id
        self.status = AWAITING
        self.acknowledged_by: int | None = None

    @workflow.run
    async def run(self, input: HandoverInput) -> str:
        self._show(f"waiting {input.ack_seconds} s for the next shift to acknowledge it")
        try:
            await workflow.wait_condition(lambda: self.acknowledged_by is not None,
                                          timeout=timedelta(seconds=max(1, input.ack_seconds)),
                                          timeout_summary="handover acknowledgement")
            self.status = ACKNOWLEDGED
        except TimeoutError:
            await self._remind(input.ack_seconds)
        self._show("finished")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _remind(self, waited_seconds: int) -> None:
        """Tell the supervisors, unless the handover turns out acknowledged (its signal still on the way); an effect
        that could not be applied (the database away) is tried again a minute later, a handover gone is left."""
        reminder = HandoverReminder(handover_id=self.handover_id, waited_seconds=waited_seconds)
        while True:
            try:
                state = await effect(REMIND_SHIFT_HANDOVER, reminder)
                break
            except ApplicationError as err:
                if err.type != "EFFECT_FAILED":
                    workflow.logger.warning("shift handover %s: no reminder: %s", self.handover_id, err.message)
                    self.status = GONE
                    return
                self._show("the reminder could not be recorded; trying again in a minute")
                await workflow.sleep(RETRY_REMINDER)
        self.status = ACKNOWLEDGED if state.acknowledged and not state.reminded else REMINDED

    @workflow.signal
    def acknowledged(self, news: HandoverAcknowledged) -> None:
        if self.acknowledged_by is None:
            self.acknowledged_by = news.user_id

    def _show(self, waiting: str) -> None:
        show(SHIFT_HANDOVER, self.handover_id, self.status, f"**{self.status}** — {waiting}\n\n"
             f"Shift handover {self.handover_id}")
