"""A recall's lifecycle (`recall-{id}`, type `Recall`): notify every affected customer, then mark the recall
`notified`.

Started by the API once the report, its PDF and one notice per affected customer are committed. One effect per
notice (a local activity, one transaction: the e-mail into the notification outbox, or the notice failed when the
customer has no e-mail), in the notices' order, then one effect finishing the recall. Each effect is harmless to
repeat (the notice's row lock and status), so a retried or replayed step never notifies twice. A database that is
away does not fail the lifecycle: the step is tried again after a pause, until it is applied. Long recalls
continue-as-new with the notices still to send. Ops see `sent / total` in the Temporal UI."""

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from dto.activity import ActivityRef
    from dto.mes.recalls import (
        FINISH_RECALL,
        SEND_RECALL_NOTICE,
        FinishRecall,
        NoticeStatus,
        RecallLifecycleInput,
        RecallStatus,
        SendRecallNotice,
    )
    from workflows.lifecycle import continue_as_new_due, effect, show

A = TypeVar("A")
R = TypeVar("R")
ENTITY = "recall_report"
PAUSE = timedelta(seconds=30)  # before trying a step again whose effect could not be applied (database away)


def recall_workflow_id(recall_id: int) -> str:
    return f"recall-{recall_id}"


@workflow.defn(name="Recall")
class RecallWorkflow:
    @workflow.run
    async def run(self, input: RecallLifecycleInput) -> str:
        pending, sent, failed = list(input.notice_ids), input.sent, input.failed
        total = sent + failed + len(pending)
        self._show(input, RecallStatus.NOTIFYING, sent, failed, total)
        while pending:
            if continue_as_new_due():
                workflow.continue_as_new(input.model_copy(update={"notice_ids": pending, "sent": sent,
                                                                   "failed": failed}))
            outcome = await _patiently(SEND_RECALL_NOTICE, SendRecallNotice(recall_id=input.recall_id,
                                                                            notice_id=pending.pop(0)))
            sent, failed = (sent + 1, failed) if outcome.status == NoticeStatus.SENT else (sent, failed + 1)
            self._show(input, RecallStatus.NOTIFYING, sent, failed, total)
        finished = await _patiently(FINISH_RECALL, FinishRecall(recall_id=input.recall_id, sent=sent, failed=failed))
        self._show(input, finished.status, sent, failed, total)
        return finished.status.value

    def _show(self, input: RecallLifecycleInput, status: RecallStatus, sent: int, failed: int, total: int) -> None:
        doing = "notifying the affected customers" if status == RecallStatus.NOTIFYING else "every customer notified"
        show(ENTITY, input.recall_id, status.value, f"**{status.value}** — {doing}: {sent} / {total} notices sent, "
             f"{failed} failed (no e-mail)\n\n{input.recall_number}")


async def _patiently(ref: ActivityRef[A, R], arg: A) -> R:
    """The effect, tried again after PAUSE for as long as it cannot be applied (a business refusal still fails)."""
    while True:
        try:
            return await effect(ref, arg)
        except ApplicationError as err:
            if err.type != "EFFECT_FAILED":
                raise
        await workflow.sleep(PAUSE)
