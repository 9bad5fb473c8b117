"""The ERP NCR report lifecycle (`ncr-report-{id}`, type `NcrReport`), its states and transitions held as data (the
workflow definition `ncr_report`): submitted → under_review → approved | rejected, approved → in_progress → resolved
→ verified → closed (reopen: back to in_progress), and `assign` in every open state.

One update, `transition`, is checked in its validator and again under the lock against the moves the definition
allows from the current state; every effect answers them fresh, so the lifecycle holds only a small state (id, state,
assignee, severity, work order, SLAs). A code not allowed from the state is INVALID_STATUS (400, naming the allowed
ones); a caller who is neither the assignee nor an admin-equivalent, or who holds none of the roles a transition is
limited to (`assign`), is ACCESS_DENIED (403). While the report is open, no move within its severity's SLA (fixed at
start) escalates it to the admins, again after each further SLA; every transition restarts the clock. Reaching
`approved` tells the report's work order (`work-order-{id}`, signal `hold_cleared`) it may resume. It ends at a final
state."""

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from dto.approvals import TransitionRequest, TransitionResult
    from dto.quality import (
        APPROVED,
        ESCALATE,
        ESCALATE_NCR_REPORT,
        HOLD_CLEARED,
        LOAD_NCR_REPORT,
        NCR_REPORT,
        TRANSITION_NCR_REPORT,
        NcrReportEscalation,
        NcrReportInput,
        NcrReportMoved,
        NcrReportRef,
        NcrReportState,
        work_order_workflow_id,
    )
    from workflows.lifecycle import check_defined_move, continue_as_new_due, effect, op_key, show

DEFAULT_SLA_SECONDS = 3 * 86400


@workflow.defn(name="NcrReport")
class NcrReportWorkflow:
    @workflow.init
    def __init__(self, input: NcrReportInput) -> None:
        self.ncr_id = input.ncr_id
        self.sla_by_severity = dict(input.sla_seconds)
        self.now: NcrReportState | None = input.state
        self.due_at: datetime | None = input.due_at
        self.lock = asyncio.Lock()
        self.moves = 0  # transitions applied by this run: each restarts the SLA clock
        self.holds_to_clear: list[int] = []  # work orders to tell their NCR is approved

    @workflow.run
    async def run(self, input: NcrReportInput) -> str:
        if self.now is None:
            self.now = await effect(LOAD_NCR_REPORT, NcrReportRef(ncr_id=self.ncr_id))
        if self.due_at is None:
            self._restart_clock()
        self._show()
        while not self._state.final and not continue_as_new_due():
            await self._wait_or_escalate()
            await self._clear_holds()
        await self._finish_handlers()
        if not self._state.final:
            workflow.continue_as_new(NcrReportInput(ncr_id=self.ncr_id, sla_seconds=self.sla_by_severity,
                                                    state=self._state, due_at=self.due_at))
        return self._state.state

    @property
    def _state(self) -> NcrReportState:
        if self.now is None:  # only before the first effect answered; handlers wait for it
            raise ApplicationError("The NCR report is not loaded yet", type="LIFECYCLE_NOT_READY")
        return self.now

    async def _finish_handlers(self) -> None:
        """Let running transitions finish and tell the work orders they released, before ending or continuing."""
        while True:
            await self._clear_holds()
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self.holds_to_clear:
                return

    # --- the SLA -------------------------------------------------------------------------------------------------

    def _sla(self) -> int:
        return (self.sla_by_severity.get(self._state.severity)
                or max(self.sla_by_severity.values(), default=DEFAULT_SLA_SECONDS))

    def _restart_clock(self) -> None:
        self.due_at = workflow.now() + timedelta(seconds=self._sla())

    async def _wait_or_escalate(self) -> None:
        """Wait for a move until the SLA runs out; then escalate (unless a move won the race)."""
        moves = self.moves
        remaining = ((self.due_at or workflow.now()) - workflow.now()).total_seconds()
        if remaining > 0:
            try:
                await workflow.wait_condition(lambda: self.moves != moves or continue_as_new_due(),
                                              timeout=timedelta(seconds=remaining), timeout_summary="NCR report SLA")
                return
            except TimeoutError:
                pass
        await self._escalate(moves)

    async def _escalate(self, moves: int) -> None:
        async with self.lock:
            if self.moves != moves or self._state.final:
                return
            level = self._state.escalation_level + 1
            try:
                self.now = await effect(ESCALATE_NCR_REPORT, NcrReportEscalation(
                    ncr_id=self.ncr_id, level=level, sla_seconds=self._sla(),
                    op_key=f"{workflow.info().workflow_id}:{ESCALATE}-{level}"))
            except ApplicationError as err:  # tried again after the next SLA
                workflow.logger.warning("NCR report %s could not escalate: %s", self.ncr_id, err.message)
            self._restart_clock()
            self._show()

    # --- transitions ---------------------------------------------------------------------------------------------

    @workflow.update
    async def transition(self, request: TransitionRequest) -> TransitionResult:
        await workflow.wait_condition(lambda: self.now is not None)
        async with self.lock:
            self._check(request)  # again under the lock: racing transitions get one winner
            moved = await effect(TRANSITION_NCR_REPORT, request.model_copy(
                update={"entity_id": self.ncr_id, "op_key": op_key()}))
            self._moved(moved)
            return moved.result

    @transition.validator
    def _validate_transition(self, request: TransitionRequest) -> None:
        if self.now is not None:  # else the handler checks once the state is loaded
            self._check(request)

    def _check(self, request: TransitionRequest) -> None:
        state = self._state
        check_defined_move(request, state.state, state.moves, state.assignee_id, state.assignee_name, "NCR report")

    def _moved(self, moved: NcrReportMoved) -> None:
        self.now = moved.now
        self.moves += 1
        self._restart_clock()
        result = moved.result
        if result.current_state == APPROVED and result.previous_state != APPROVED and moved.now.work_order_id:
            self.holds_to_clear.append(moved.now.work_order_id)
        self._show()

    async def _clear_holds(self) -> None:
        """Tell each work order held for this NCR that it is approved; a work order without a running lifecycle
        holds nothing."""
        while self.holds_to_clear:
            work_order_id = self.holds_to_clear.pop(0)
            try:
                await workflow.get_external_workflow_handle(work_order_workflow_id(work_order_id)).signal(
                    HOLD_CLEARED, self.ncr_id)
            except FailureError as err:
                workflow.logger.info("NCR report %s: work order %s was not told its hold cleared: %s", self.ncr_id,
                                     work_order_id, err.message)

    def _show(self) -> None:
        state = self._state
        if state.final:
            waiting = "finished"
        else:
            due = f"{self.due_at:%Y-%m-%d %H:%M:%S} UTC" if self.due_at else "the end of its SLA"
            waiting = (f"with {state.assignee_name or 'nobody'} ({state.role}); escalation level "
                       f"{state.escalation_level}; escalates at {due}")
        show(NCR_REPORT, self.ncr_id, state.state, f"**{state.state}** — {waiting}\n\nNCR {state.ncr_number} "
             f"({state.severity})", pending_role=None if state.final else state.role, tracks_pending_role=True)
