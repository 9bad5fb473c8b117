"""The approval engine: the rules and state of one approval request (`ApprovalEngine`), and the workflow
that runs it on its own (`approval-{instance id}`: standalone requests, transfers, period close, and the
purchase orders started before the engine moved into their own lifecycle).

The engine opens each planned step as a task row, waits for one decision per step with the step's SLA as
a timer, escalates a step that passes its due time, and gives its outcome. Decisions are updates: the
validator enforces who may decide (role, escalation, segregation of duties, limits)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import approval_refusal
    from dto.approvals import (
        ESCALATE_APPROVAL_STEP,
        FINISH_APPROVAL,
        OPEN_APPROVAL_STEP,
        RECORD_APPROVAL_DECISION,
        ApprovalAction,
        ApprovalOutcome,
        ApprovalRequest,
        ApprovalStatus,
        Decision,
        DecisionEffect,
        DecisionResult,
        FinishEffect,
        StepEffect,
        StepPlan,
    )
    from workflows.lifecycle import effect, op_key, show


def approval_workflow_id(instance_id: int) -> str:
    return f"approval-{instance_id}"


def no_longer_waiting(details: dict[str, object]) -> ApplicationError:
    return ApplicationError("This approval is no longer waiting for a decision", details, type="ALREADY_DECIDED",
                            non_retryable=True)


class ApprovalEngine:
    """One request's open step and decisions; the workflow that holds it runs the effects."""

    def __init__(self, request: ApprovalRequest, step: StepPlan | None = None, escalated: bool = False) -> None:
        self.request = request
        self.step = step
        self.escalated = escalated
        self.decision: Decision | None = None
        self.finished = False
        self.cancelled = False
        self.cancelled_by: int | None = None

    @property
    def waiting(self) -> bool:
        return not self.finished and not self.cancelled

    def decidable_step(self, decision: Decision) -> StepPlan:
        """The step this decision decides, or why it may not (already decided, not this user's to decide)."""
        step = self.step
        if not self.waiting or step is None:
            raise no_longer_waiting({"instance_id": self.request.instance_id})
        if decision.step_number is not None and decision.step_number != step.step_number:
            raise ApplicationError(f"Step {decision.step_number} was already decided; the current step is "
                                   f"{step.step_number}", {"current_step": step.step_number},
                                   type="ALREADY_DECIDED", non_retryable=True)
        refusal = approval_refusal(decision.actor.role, decision.actor.is_superuser, decision.actor.id,
                                   decision.actor.approval_limit, step.approver_role, step.approver_user_id,
                                   self.request.amount, self.request.requester_id, self.request.allow_self_approval,
                                   step.escalation_user_id if self.escalated else None)
        if refusal:
            code, message = refusal
            raise ApplicationError(message, {"step_number": step.step_number}, type=code, non_retryable=True)
        return step

    def is_final(self, step: StepPlan, decision: Decision) -> bool:
        return decision.action != ApprovalAction.APPROVED or step is self.request.steps[-1]

    def next_step(self, step: StepPlan) -> StepPlan:
        return self.request.steps[self.request.steps.index(step) + 1]

    def decided(self, decision: Decision, final: bool) -> None:
        self.decision = decision
        self.finished = self.finished or final

    def opened(self, step: StepPlan) -> None:
        self.step, self.escalated = step, False

    def moved_on_from(self, step: StepPlan) -> bool:
        return self.step is not step or not self.waiting

    async def supervise(self, escalate: Callable[[StepPlan], Awaitable[None]]) -> None:
        """Until the request is decided or withdrawn: a step past its SLA is escalated (once)."""
        while self.waiting:
            step = self.step
            assert step is not None
            if not await self._moved_on_within_sla(step):
                await escalate(step)
                await self._moved_on(step)

    async def _moved_on(self, step: StepPlan) -> None:
        await workflow.wait_condition(lambda: self.moved_on_from(step))

    async def _moved_on_within_sla(self, step: StepPlan) -> bool:
        try:
            await workflow.wait_condition(lambda: self.moved_on_from(step), timeout=timedelta(seconds=step.sla_seconds),
                                          timeout_summary=f"SLA of step {step.step_number}")
            return True
        except TimeoutError:
            return False

    def outcome(self) -> ApprovalOutcome:
        if self.cancelled and not self.finished:
            return ApprovalOutcome(instance_id=self.request.instance_id, status=ApprovalStatus.CANCELLED,
                                   decided_by=self.cancelled_by)
        decision = self.decision
        return ApprovalOutcome(instance_id=self.request.instance_id,
                               status=ApprovalStatus(decision.action.value) if decision else ApprovalStatus.APPROVED,
                               decided_by=decision.actor.id if decision else None,
                               comments=decision.comments if decision else None)

    def step_effect(self, step: StepPlan, owner_id: str) -> StepEffect:
        return StepEffect(instance_id=self.request.instance_id, step=step, op_key=f"{owner_id}:step-{step.step_number}")

    def details(self, waiting: str) -> str:
        """What the Temporal UI shows of the request: the step, who decides it, escalation."""
        step = self.step
        who = (step.approver_role or f"user {step.approver_user_id}") if step else "-"
        escalated = " (ESCALATED)" if self.escalated else ""
        return (f"**step {step.step_number if step else '-'}/{len(self.request.steps)}**{escalated}: {who} — "
                f"{waiting}\n\n{self.request.reference_type} {self.request.reference_id}, "
                f"amount {self.request.amount}")


class HoldsApproval:
    """What a lifecycle that runs its own approval shares (a purchase order, a transfer): the open request, a
    withdrawal's outcome, the end of the request, the escalation of a step past its SLA. The workflow class
    sets `approval` and `lock` and shows itself in `_show`."""

    approval: ApprovalEngine | None
    lock: asyncio.Lock
    _show: Callable[[], None]  # the workflow's own: what the Temporal UI shows of it

    def _open_approval(self) -> ApprovalEngine:
        if self.approval is None:
            raise no_longer_waiting({"workflow_id": workflow.info().workflow_id})
        return self.approval

    def _withdrawal(self, actor_id: int) -> ApprovalOutcome:
        return ApprovalOutcome(instance_id=self._open_approval().request.instance_id, status=ApprovalStatus.CANCELLED,
                               decided_by=actor_id)

    def _end_approval(self) -> None:
        if self.approval is not None:
            self.approval.cancelled = not self.approval.finished
            self.approval = None

    async def _escalate(self, step: StepPlan) -> None:
        async with self.lock:
            approval = self.approval
            if approval is not None and not approval.moved_on_from(step):
                await effect(ESCALATE_APPROVAL_STEP, approval.step_effect(step, workflow.info().workflow_id))
                approval.escalated = True
                self._show()


@workflow.defn(name="Approval")
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, request: ApprovalRequest) -> None:
        self.engine = ApprovalEngine(request)
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, request: ApprovalRequest) -> ApprovalOutcome:
        async with self.lock:
            await self._open(request.steps[0])
        await self.engine.supervise(self._escalate)
        return await self._finish()

    async def _open(self, step: StepPlan) -> None:
        """Open a step (its task row); called under the lock."""
        await effect(OPEN_APPROVAL_STEP, self.engine.step_effect(step, workflow.info().workflow_id))
        self.engine.opened(step)
        self._show("waiting for a decision")

    async def _escalate(self, step: StepPlan) -> None:
        async with self.lock:
            if not self.engine.moved_on_from(step):
                await effect(ESCALATE_APPROVAL_STEP, self.engine.step_effect(step, workflow.info().workflow_id))
                self.engine.escalated = True
                self._show("escalated; waiting for a decision")

    async def _finish(self) -> ApprovalOutcome:
        await workflow.wait_condition(workflow.all_handlers_finished)
        outcome = self.engine.outcome()
        await effect(FINISH_APPROVAL, FinishEffect(outcome=outcome))
        show("approval", self.engine.request.instance_id, outcome.status.value, f"**{outcome.status.value}**")
        return outcome

    @workflow.update
    async def decide(self, decision: Decision) -> DecisionResult:
        engine = self.engine
        await workflow.wait_condition(lambda: engine.step is not None or engine.cancelled)  # step 1 may be opening
        async with self.lock:
            step = engine.decidable_step(decision)  # again under the lock: racing deciders get one winner
            final = engine.is_final(step, decision)
            task = await effect(RECORD_APPROVAL_DECISION, DecisionEffect(
                instance_id=engine.request.instance_id, step=step, decision=decision, final=final, op_key=op_key()))
            engine.decided(decision, final)
            if not final:
                await self._open(engine.next_step(step))
            return DecisionResult(task=task, final=final)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        if self.engine.step is not None or not self.engine.waiting:
            self.engine.decidable_step(decision)

    @workflow.signal
    def cancel(self, actor_id: int | None = None) -> None:
        """Withdraw the request; `actor_id` is who withdrew it (the outcome names them)."""
        self.engine.cancelled, self.engine.cancelled_by = True, actor_id

    def _show(self, waiting: str) -> None:
        step = self.engine.step
        show("approval", self.engine.request.instance_id, "in_review" if step and step.step_number > 1 else "pending",
             self.engine.details(waiting))
