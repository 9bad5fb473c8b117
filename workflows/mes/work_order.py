"""The ERP work-order lifecycle (`work-order-{id}`, type `WorkOrder`): planned → released → in_progress →
completed → closed, with on_hold (resume returns where it was) and cancelled (manufacturing-erp.md §6.2).

Transitions are one update (`transition`, the codes of `dto.mes.MOVES`), by the §6.4 endpoint and the work
order's own routes alike. `start` waits for every dependency to be completed (the effect checks the database;
the lifecycle also learns it by the signal `dependency_completed` a dependency sends when it completes, and shows
what it still waits for). Production logs are direct writes that signal `production_logged`: reaching the ordered
quantity completes the work order. A failed inspection holds it (`hold_for_ncr`) until its NCR is approved
(signal `hold_cleared` from the NCR's lifecycle) or a supervisor resumes it. Updates answer ids and statuses."""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm, has_permission
    from dto.approvals import TransitionRequest, TransitionResult
    from dto.mes import (
        CREATE_WORK_ORDER,
        FINISHED,
        MOVE_WORK_ORDER,
        MOVES,
        SET_WORK_ORDER_DEPENDENCIES,
        CreateWorkOrder,
        DependencyChange,
        Progress,
        WorkOrderLifecycleInput,
        WorkOrderMove,
        WorkOrderStatus,
        WorkOrderView,
    )
    from workflows.lifecycle import continue_as_new_due, denied, effect, op_key, require_permission, show

S = WorkOrderStatus


def work_order_workflow_id(work_order_id: int) -> str:
    return f"work-order-{work_order_id}"


@workflow.defn(name="WorkOrder")
class WorkOrderWorkflow:
    @workflow.init
    def __init__(self, input: WorkOrderLifecycleInput) -> None:
        self.id = input.work_order_id
        self.view = input.view
        self.lock = asyncio.Lock()
        self.abandoned = False
        self.system_moves: list[WorkOrderMove] = []  # what the lifecycle itself applies, in order
        self.system_seq = 0

    @workflow.run
    async def run(self, input: WorkOrderLifecycleInput) -> str:
        await workflow.wait_condition(lambda: self.view is not None or self.abandoned)
        while not self._over():
            await workflow.wait_condition(lambda: bool(self.system_moves) or self._over() or continue_as_new_due())
            if self.system_moves:
                await self._apply_system_move(self.system_moves.pop(0))
            elif continue_as_new_due() and not self._over():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(WorkOrderLifecycleInput(work_order_id=self.id, view=self.view))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view.status.value if self.view else "abandoned"

    def _over(self) -> bool:
        return self.abandoned or (self.view is not None and self.view.status in FINISHED)

    @workflow.update
    async def create(self, request: CreateWorkOrder) -> WorkOrderView:
        async with self.lock:
            try:
                view = await effect(CREATE_WORK_ORDER, request)
            except ApplicationError:
                self.abandoned = self.view is None
                raise
            self._absorb(view)
            return view

    @workflow.update
    async def transition(self, request: TransitionRequest) -> TransitionResult:
        async with self.lock:
            self._check(request)  # again under the lock: racing transitions get one winner
            view = await effect(MOVE_WORK_ORDER, WorkOrderMove(
                work_order_id=self.id, code=request.code, actor=request.actor, comment=request.comment,
                op_key=op_key()))
            await self._absorb_move(view)
            return TransitionResult(entity_id=self.id, previous_state=(view.previous_status or view.status).value,
                                    current_state=view.status.value, assignee_id=None,
                                    performed_by_id=view.performed_by_id,
                                    performed_at=view.performed_at or workflow.now(), version=view.version)

    @transition.validator
    def _validate_transition(self, request: TransitionRequest) -> None:
        self._check(request)

    def _check(self, request: TransitionRequest) -> None:
        move = MOVES.get(request.code)
        actor = request.actor
        if move is not None and not has_permission(actor.role, move.permission, actor.is_superuser):
            raise denied(f"Role {actor.role} may not {request.code} work orders")
        if self.view is None or move is None or self.view.status not in move.allowed_from:
            status = self.view.status if self.view else S.PLANNED
            allowed = sorted(code for code, m in MOVES.items() if status in m.allowed_from)
            raise ApplicationError("Invalid transition", f"Cannot {request.code} work order "
                                   f"{self.view.work_order_number if self.view else self.id} in status "
                                   f"{status.value}; allowed: {', '.join(allowed) or 'none'}",
                                   type="INVALID_STATUS", non_retryable=True)

    @workflow.update
    async def set_dependencies(self, change: DependencyChange) -> WorkOrderView:
        async with self.lock:
            self._check_editable()
            view = await effect(SET_WORK_ORDER_DEPENDENCIES, change.model_copy(
                update={"work_order_id": self.id, "op_key": op_key()}))
            self._absorb(view)
            return view

    @set_dependencies.validator
    def _validate_set_dependencies(self, change: DependencyChange) -> None:
        require_permission(change.actor, Perm.MANAGE_WORK_ORDERS)
        self._check_editable()

    def _check_editable(self) -> None:
        if self.view is None or self.view.status not in (S.PLANNED, S.RELEASED):
            status = self.view.status.value if self.view else "unknown"
            raise ApplicationError("Cannot change dependencies", f"Work order {self.id} is {status}; dependencies "
                                   "change only while it is planned or released", type="INVALID_STATUS",
                                   non_retryable=True)

    @workflow.update
    async def hold_for_ncr(self, hold: WorkOrderMove) -> WorkOrderView:
        """A failed inspection holds the work order until its NCR is approved (signal `hold_cleared`) or a
        supervisor resumes it; one already held, completed or finished is left as it is."""
        async with self.lock:
            assert self.view is not None  # the validator saw it created
            if self.view.status not in MOVES["hold"].allowed_from:
                return self.view
            view = await effect(MOVE_WORK_ORDER, hold.model_copy(
                update={"work_order_id": self.id, "code": "hold", "op_key": op_key()}))
            self._absorb(view)
            return view

    @hold_for_ncr.validator
    def _validate_hold_for_ncr(self, hold: WorkOrderMove) -> None:
        if self.view is None or hold.actor is None or hold.ncr_id is None:
            raise ApplicationError("A hold for an NCR names its NCR and who raised it", type="VALIDATION_ERROR",
                                   non_retryable=True)
        require_permission(hold.actor, Perm.LOG_INSPECTIONS)

    @workflow.signal
    def production_logged(self, progress: Progress) -> None:
        if self.view is None:
            return
        completed = max(self.view.quantity_completed, progress.quantity_completed)
        self.view = self.view.model_copy(update={"quantity_completed": completed})
        if completed >= self.view.quantity_ordered and self.view.status == S.IN_PROGRESS:
            self.system_moves.append(WorkOrderMove(work_order_id=self.id, code="complete",
                                                   comment="The ordered quantity was produced"))
        self._show()

    @workflow.signal
    def dependency_completed(self, work_order_id: int) -> None:
        if self.view is not None and work_order_id in self.view.waiting_on:
            self.view = self.view.model_copy(
                update={"waiting_on": [w for w in self.view.waiting_on if w != work_order_id]})
            self._show()

    @workflow.signal
    def hold_cleared(self, ncr_id: int) -> None:
        if self.view is not None and self.view.status == S.ON_HOLD and self.view.hold_ncr_id == ncr_id:
            self.system_moves.append(WorkOrderMove(work_order_id=self.id, code="resume", ncr_id=ncr_id,
                                                   comment=f"NCR {ncr_id} approved"))

    async def _apply_system_move(self, move: WorkOrderMove) -> None:
        async with self.lock:
            if self.view is None or self.view.status not in MOVES[move.code].allowed_from:
                return  # moved on since it was queued
            self.system_seq += 1
            key = f"{workflow.info().workflow_id}:{workflow.info().run_id}:{move.code}-{self.system_seq}"
            view = await effect(MOVE_WORK_ORDER, move.model_copy(update={"op_key": key}))
            await self._absorb_move(view)

    async def _absorb_move(self, view: WorkOrderView) -> None:
        self._absorb(view)
        if view.status == S.COMPLETED and view.previous_status != S.COMPLETED:
            await self._tell_dependents(view.dependents)
        if view.status == S.IN_PROGRESS and view.quantity_completed >= view.quantity_ordered:
            self.system_moves.append(WorkOrderMove(work_order_id=self.id, code="complete",
                                                   comment="The ordered quantity was produced"))

    async def _tell_dependents(self, dependents: list[int]) -> None:
        for other in dependents:
            try:
                await workflow.get_external_workflow_handle(work_order_workflow_id(other)).signal(
                    WorkOrderWorkflow.dependency_completed, self.id)
            except Exception:  # noqa: BLE001 - a dependent's lifecycle that ended needs no news
                workflow.logger.info("work order %s could not be told %s completed", other, self.id)

    def _absorb(self, view: WorkOrderView) -> None:
        quantity = max(view.quantity_completed, self.view.quantity_completed if self.view else 0)
        self.view = view.model_copy(update={"quantity_completed": quantity})
        self._show()

    def _show(self) -> None:
        if self.view is None:
            return
        view = self.view
        details = f"**{view.status.value}** — {view.quantity_completed} / {view.quantity_ordered} units"
        if view.waiting_on:
            details += f"\n\nwaiting for work orders {', '.join(str(w) for w in view.waiting_on)} to complete"
        if view.hold_ncr_id:
            details += f"\n\nheld until NCR {view.hold_ncr_id} is approved"
        show("work_order", self.id, view.status.value, f"{details}\n\n{view.work_order_number}")
