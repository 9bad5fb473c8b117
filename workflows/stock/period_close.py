"""The period-close lifecycle (`period-close-{uid}`): OPEN → PENDING_CLOSE → CLOSED, or back to OPEN.

The close request opens a PERIOD_CLOSE approval (a child workflow of the approval engine). On approval
the closing stock of every location and item is snapshotted in chunks of whole locations, each chunk one
activity; the cursor lives here, so a worker killed mid-close resumes at the chunk it was on and a
repeated chunk inserts nothing twice. Progress shows in the Temporal UI and on the period."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.activity import ActivityRef
    from dto.approvals import ApprovalOutcome, ApprovalRequest, ApprovalStatus
    from dto.stock import (
        FINISH_PERIOD_CLOSE,
        REOPEN_PERIOD,
        REQUEST_PERIOD_CLOSE,
        SNAPSHOT_CLOSING_STOCK,
        CloseOutcomeEffect,
        PeriodCloseInput,
        PeriodCloseView,
        RequestPeriodClose,
        SnapshotChunk,
        SnapshotProgress,
    )
    from workflows.approvals.approval import ApprovalWorkflow, approval_workflow_id
    from workflows.lifecycle import effect, require_permission, show

CHUNK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def period_close_workflow_id(period_uid: str) -> str:
    return f"period-close-{period_uid}"


@workflow.defn(name="PeriodClose")
class PeriodCloseWorkflow:
    @workflow.init
    def __init__(self, input: PeriodCloseInput) -> None:
        self.uid = input.period_uid
        self.view: PeriodCloseView | None = None
        self.abandoned = False
        self.approval: ApprovalRequest | None = None
        self.decided_instance: int | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: PeriodCloseInput) -> str:
        await workflow.wait_condition(lambda: self.view is not None or self.abandoned)
        if self.approval is not None:
            outcome = await self._await_approval(self.approval)
            if outcome.status == ApprovalStatus.APPROVED:
                await self._snapshot_closing_stock()
                await self._apply(FINISH_PERIOD_CLOSE, outcome)
            else:
                await self._apply(REOPEN_PERIOD, outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view.status.value if self.view else "ABANDONED"

    async def _await_approval(self, request: ApprovalRequest) -> ApprovalOutcome:
        try:
            outcome: ApprovalOutcome = await workflow.execute_child_workflow(
                ApprovalWorkflow.run, request, id=approval_workflow_id(request.instance_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Approval of the close of period {self._name()}")
        except ChildWorkflowError as err:
            workflow.logger.error("approval %s failed: %s", request.instance_id, err)
            await self._needs_operator(f"approval {request.instance_id} failed")
            raise
        self.decided_instance = outcome.instance_id
        return outcome

    async def _needs_operator(self, what: str) -> None:
        """Stay PENDING_CLOSE, saying so in the Temporal UI, until an operator repairs the data and resets."""
        self._show("PENDING_CLOSE", f"{what}; needs an operator")
        await workflow.wait_condition(lambda: False)

    async def _snapshot_closing_stock(self) -> None:
        try:
            await self._snapshot_chunks()
        except ActivityError as err:  # the database refused a chunk's data (activities/failures.py): no retry
            workflow.logger.error("closing stock snapshot failed: %s", err.cause or err)
            await self._needs_operator(f"closing stock snapshot failed: {err.cause or err}")
            raise

    async def _snapshot_chunks(self) -> None:
        after = 0
        limit = self.view.chunk_size if self.view else 500
        while True:
            progress: SnapshotProgress = await workflow.execute_activity(
                SNAPSHOT_CLOSING_STOCK.name, SnapshotChunk(period_uid=self.uid, after_location_id=after, limit=limit),
                result_type=SNAPSHOT_CLOSING_STOCK.result_type, start_to_close_timeout=timedelta(minutes=5),
                retry_policy=CHUNK_RETRY, summary=f"closing stock after location {after}")
            self._show("PENDING_CLOSE", f"approved; snapshotting closing stock: {progress.locations_done}/"
                       f"{progress.locations_total} locations")
            if progress.last_location_id is None:
                return
            after = progress.last_location_id

    async def _apply(self, ref: ActivityRef[CloseOutcomeEffect, PeriodCloseView], outcome: ApprovalOutcome) -> None:
        async with self.lock:
            self._absorb(await effect(ref, CloseOutcomeEffect(
                period_uid=self.uid, outcome=outcome, op_key=f"{ref.name}-{outcome.instance_id}")))

    @workflow.update
    async def request_close(self, request: RequestPeriodClose) -> PeriodCloseView:
        async with self.lock:
            try:
                view = await effect(REQUEST_PERIOD_CLOSE, request)
            except ApplicationError:
                self.abandoned = self.view is None
                raise
            self.approval = view.approval
            return self._absorb(view)

    @request_close.validator
    def _validate_request_close(self, request: RequestPeriodClose) -> None:
        require_permission(request.actor, Perm.STOCK_PERIODS)
        if self.view is not None:  # this run already holds a close request (a retried activity is let through)
            raise ApplicationError(f"Period {self._name()} already has a pending close", {"status": "PENDING_CLOSE"},
                                   type="DUPLICATE_ENTRY", non_retryable=True)

    @workflow.update
    async def decided(self, instance_id: int) -> str:
        """Answers once the decision on approval `instance_id` has reached this lifecycle."""
        await workflow.wait_condition(lambda: self.decided_instance == instance_id)
        return self.view.status.value if self.view else "ABANDONED"

    def _absorb(self, view: PeriodCloseView) -> PeriodCloseView:
        self.view = view
        waiting = {"PENDING_CLOSE": "waiting for an ADMIN's approval", "OPEN": "close rejected; period reopened",
                   "CLOSED": "closed"}.get(view.status.value, "")
        self._show(view.status.value, waiting)
        return view

    def _name(self) -> str:
        return str(self.view.body.get("name")) if self.view else self.uid

    def _show(self, status: str, waiting: str) -> None:
        show("period_close", self.view.id if self.view else 0, status, f"**{status}** — {waiting}\n\n"
             f"period {self._name()}")
