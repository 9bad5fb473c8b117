"""The PM work order's lifecycle (`pm-work-order-{id}`, type `PmWorkOrder`), held as data (`pm_work_order`):
planned → in_progress (start) → completed (complete), cancel, assign (manufacturing-erp.md §6.7, through the §6.4
endpoint). Only the technician it is assigned to (or an admin) starts and completes it; supervisors cancel and
reassign. Once its scheduled date has passed undone, it escalates to the supervisors, and again every
`reminder_seconds` until it is finished. Updates answer ids and states."""

import asyncio
from datetime import UTC, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from dto.approvals import TransitionRequest, TransitionResult
    from dto.mes.maintenance import (
        ESCALATE_PM_WORK_ORDER,
        LOAD_PM_WORK_ORDER,
        PM_ESCALATE,
        PM_WORK_ORDER,
        TRANSITION_PM_WORK_ORDER,
        PmEscalation,
        PmRef,
        PmState,
        PmWorkOrderInput,
    )
    from workflows.lifecycle import check_defined_move, continue_as_new_due, effect, op_key, show


@workflow.defn(name="PmWorkOrder")
class PmWorkOrderWorkflow:
    @workflow.init
    def __init__(self, input: PmWorkOrderInput) -> None:
        self.id = input.pm_work_order_id
        self.reminder = timedelta(seconds=input.reminder_seconds)
        self.now: PmState | None = input.state
        self.lock = asyncio.Lock()
        self.moves = 0

    @workflow.run
    async def run(self, input: PmWorkOrderInput) -> str:
        if self.now is None:
            self.now = await effect(LOAD_PM_WORK_ORDER, PmRef(pm_work_order_id=self.id))
        self._show()
        while not self._state.final and not continue_as_new_due():
            await self._wait_or_escalate()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._state.final:
            workflow.continue_as_new(PmWorkOrderInput(pm_work_order_id=self.id,
                                                      reminder_seconds=input.reminder_seconds, state=self._state))
        return self._state.state

    @property
    def _state(self) -> PmState:
        if self.now is None:
            raise ApplicationError("The PM work order is not loaded yet", type="LIFECYCLE_NOT_READY")
        return self.now

    def _due_at(self) -> datetime:
        """The end of the scheduled day, then one reminder interval per escalation already made."""
        overdue_from = datetime.combine(self._state.scheduled_date + timedelta(days=1), time.min, UTC)
        return overdue_from + self.reminder * self._state.escalation_level

    async def _wait_or_escalate(self) -> None:
        moves = self.moves
        remaining = (self._due_at() - workflow.now()).total_seconds()
        if remaining > 0:
            try:
                await workflow.wait_condition(lambda: self.moves != moves or self._state.final
                                              or continue_as_new_due(), timeout=timedelta(seconds=remaining),
                                              timeout_summary="PM work order overdue")
                return
            except TimeoutError:
                pass
        async with self.lock:
            if self._state.final:
                return
            level = self._state.escalation_level + 1
            self.now = await effect(ESCALATE_PM_WORK_ORDER, PmEscalation(
                pm_work_order_id=self.id, level=level, op_key=f"{workflow.info().workflow_id}:{PM_ESCALATE}-{level}"))
            self._show()

    @workflow.update
    async def transition(self, request: TransitionRequest) -> TransitionResult:
        await workflow.wait_condition(lambda: self.now is not None)
        async with self.lock:
            self._check(request)  # again under the lock: racing transitions get one winner
            moved = await effect(TRANSITION_PM_WORK_ORDER, request.model_copy(
                update={"entity_id": self.id, "op_key": op_key()}))
            self.now = moved.now
            self.moves += 1
            self._show()
            return moved.result

    @transition.validator
    def _validate_transition(self, request: TransitionRequest) -> None:
        if self.now is not None:
            self._check(request)

    def _check(self, request: TransitionRequest) -> None:
        state = self._state
        check_defined_move(request, state.state, state.moves, state.assignee_id, state.assignee_name,
                           "PM work order")

    def _show(self) -> None:
        state = self._state
        waiting = "finished" if state.final else (
            f"with {state.assignee_name or 'nobody'}; scheduled {state.scheduled_date}; escalation level "
            f"{state.escalation_level}")
        show(PM_WORK_ORDER, self.id, state.state, f"**{state.state}** — {waiting}\n\n{state.work_order_number}")
