"""The NCR lifecycle (`ncr-{uid}`) of the stock contract: OPEN → SENT → CREDITED → CLOSED, or OPEN → CLOSED.

Status changes are updates validated against that graph; an NCR left SENT longer than its follow-up
interval (setting NCR_FOLLOW_UP_SECONDS, fixed when the lifecycle starts) sends a follow-up
notification, again after each further interval, until it moves on. It ends when CLOSED."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.stock import (
        FOLLOW_UP_NCR,
        NCR_NEXT,
        TRANSITION_NCR,
        NcrFollowUp,
        NcrInput,
        NcrStatus,
        NcrTransition,
        NcrView,
    )
    from workflows.lifecycle import effect, op_key, require_permission, show



def ncr_workflow_id(ncr_uid: str) -> str:
    return f"ncr-{ncr_uid}"


@workflow.defn(name="Ncr")
class NcrWorkflow:
    @workflow.init
    def __init__(self, input: NcrInput) -> None:
        self.uid = input.ncr_uid
        self.status = input.status
        self.lock = asyncio.Lock()
        self.follow_ups = 0

    @workflow.run
    async def run(self, input: NcrInput) -> str:
        self._show()
        while self.status != NcrStatus.CLOSED:
            if self.status == NcrStatus.SENT:
                await self._follow_up_while_sent(input.follow_up_seconds)
            else:
                await self._moved_on_from(self.status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status.value

    async def _moved_on_from(self, status: NcrStatus) -> None:
        await workflow.wait_condition(lambda: self.status != status)

    async def _follow_up_while_sent(self, interval: int) -> None:
        try:
            await workflow.wait_condition(lambda: self.status != NcrStatus.SENT, timeout=timedelta(seconds=interval),
                                          timeout_summary="NCR follow-up")
        except TimeoutError:
            self.follow_ups += 1
            await effect(FOLLOW_UP_NCR, NcrFollowUp(ncr_uid=self.uid, sent_round=self.follow_ups))
            self._show()

    @workflow.update
    async def transition(self, change: NcrTransition) -> NcrView:
        async with self.lock:
            self._check(change)  # again under the lock: racing changes get one winner
            change = change.model_copy(update={"op_key": op_key(), "ncr_uid": self.uid})
            view = await effect(TRANSITION_NCR, change)
            self.status = view.status
            self._show()
            return view

    @transition.validator
    def _validate_transition(self, change: NcrTransition) -> None:
        require_permission(change.actor, Perm.STOCK_MANAGE_NCRS)
        self._check(change)

    def _check(self, change: NcrTransition) -> None:
        if change.status not in NCR_NEXT[self.status]:
            raise ApplicationError(f"NCR is {self.status.value}; it cannot become {change.status.value}",
                                   {"status": self.status.value, "requested": change.status.value,
                                    "allowed": [s.value for s in NCR_NEXT[self.status]]},
                                   type="INVALID_STATUS", non_retryable=True)

    def _show(self) -> None:
        waiting = {NcrStatus.OPEN: "waiting to be sent to the supplier (or closed)",
                   NcrStatus.SENT: f"waiting for the supplier's credit ({self.follow_ups} follow-ups sent)",
                   NcrStatus.CREDITED: "credited; waiting to be closed", NcrStatus.CLOSED: "closed"}[self.status]
        show("ncr", 0, self.status.value, f"**{self.status.value}** — {waiting}\n\nNCR {self.uid}")
