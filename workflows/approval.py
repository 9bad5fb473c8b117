"""The approval engine (`approval-{instance id}`): a child workflow of the entity's lifecycle.

It opens each planned step as a task row, waits for one decision per step with the step's SLA as a
timer, escalates a step that passes its due time, and returns the outcome to its parent. Decisions are
updates: the validator enforces who may decide (role, escalation, segregation of duties, limits)."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import approval_refusal
    from workflows.lifecycle import effect, op_key, show
    from workflows.procurement_dto import (
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
        TaskView,
    )


def approval_workflow_id(instance_id: int) -> str:
    return f"approval-{instance_id}"


@workflow.defn(name="Approval")
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, request: ApprovalRequest) -> None:
        self.request = request
        self.step: StepPlan | None = None
        self.decision: Decision | None = None
        self.finished = False
        self.escalated = False
        self.cancelled = False
        self.cancelled_by: int | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, request: ApprovalRequest) -> ApprovalOutcome:
        async with self.lock:
            await self._open(request.steps[0])
        while not self.finished and not self.cancelled:
            step = self.step
            assert step is not None
            if not await self._moved_on_within_sla(step):
                await self._escalate(step)
                await self._moved_on(step)
        return await self._finish()

    async def _moved_on(self, step: StepPlan) -> None:
        await workflow.wait_condition(lambda: self.step is not step or self.finished or self.cancelled)

    async def _open(self, step: StepPlan) -> None:
        """Open a step (its task row); called under the lock."""
        await effect("open_approval_step", self._step_effect(step), TaskView)
        self.step, self.escalated = step, False
        self._show("waiting for a decision")

    async def _moved_on_within_sla(self, step: StepPlan) -> bool:
        try:
            await workflow.wait_condition(lambda: self.step is not step or self.finished or self.cancelled,
                                          timeout=timedelta(seconds=step.sla_seconds),
                                          timeout_summary=f"SLA of step {step.step_number}")
            return True
        except TimeoutError:
            return False

    async def _escalate(self, step: StepPlan) -> None:
        async with self.lock:
            if self.step is step and not self.finished and not self.cancelled:
                await effect("escalate_approval_step", self._step_effect(step), TaskView)
                self.escalated = True
                self._show("escalated; waiting for a decision")

    async def _finish(self) -> ApprovalOutcome:
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.cancelled and not self.finished:
            outcome = ApprovalOutcome(instance_id=self.request.instance_id, status=ApprovalStatus.CANCELLED,
                                      decided_by=self.cancelled_by)
        else:
            outcome = ApprovalOutcome(
                instance_id=self.request.instance_id,
                status=ApprovalStatus(self.decision.action.value) if self.decision else ApprovalStatus.APPROVED,
                decided_by=self.decision.actor.id if self.decision else None,
                comments=self.decision.comments if self.decision else None)
        status = outcome.status
        await effect("finish_approval", FinishEffect(outcome=outcome), ApprovalOutcome)
        show("approval", self.request.instance_id, status.value, f"**{status.value}**")
        return outcome

    @workflow.update
    async def decide(self, decision: Decision) -> DecisionResult:
        await workflow.wait_condition(lambda: self.step is not None or self.cancelled)  # step 1 may be opening
        async with self.lock:
            step = self._decidable_step(decision)  # again under the lock: racing deciders get one winner
            final = decision.action != ApprovalAction.APPROVED or step is self.request.steps[-1]
            task = await effect("record_approval_decision", DecisionEffect(
                instance_id=self.request.instance_id, step=step, decision=decision, final=final, op_key=op_key()),
                TaskView)
            self.decision = decision
            if final:
                self.finished = True
            else:
                await self._open(self.request.steps[self.request.steps.index(step) + 1])
            return DecisionResult(task=task, final=final)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        if self.step is not None or self.finished or self.cancelled:
            self._decidable_step(decision)

    def _decidable_step(self, decision: Decision) -> StepPlan:
        """The step this decision decides, or why it may not (already decided, not this user's to decide)."""
        step = self.step
        if self.finished or self.cancelled or step is None:
            raise ApplicationError("This approval is no longer waiting for a decision",
                                   {"instance_id": self.request.instance_id}, type="ALREADY_DECIDED",
                                   non_retryable=True)
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

    @workflow.signal
    def cancel(self, actor_id: int | None = None) -> None:
        """Withdraw the request; `actor_id` is who withdrew it (the outcome names them)."""
        self.cancelled, self.cancelled_by = True, actor_id

    def _step_effect(self, step: StepPlan) -> StepEffect:
        return StepEffect(instance_id=self.request.instance_id, step=step,
                          op_key=f"{workflow.info().workflow_id}:step-{step.step_number}")

    def _show(self, waiting: str) -> None:
        step = self.step
        who = (step.approver_role or f"user {step.approver_user_id}") if step else "-"
        escalated = " (ESCALATED)" if self.escalated else ""
        show("approval", self.request.instance_id, "in_review" if step and step.step_number > 1 else "pending",
             f"**step {step.step_number if step else '-'}/{len(self.request.steps)}**{escalated}: {who} — "
             f"{waiting}\n\n{self.request.reference_type} {self.request.reference_id}, "
             f"amount {self.request.amount}")
