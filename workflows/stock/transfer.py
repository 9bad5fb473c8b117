"""The transfer lifecycle (`transfer-{uid}`, type `TransferV2`): PENDING_APPROVAL → COMPLETED or REJECTED.

It runs its own approval (the approval engine, `workflows.approvals.approval.ApprovalEngine`: one SUPERVISOR step,
escalated to the ADMINs past TRANSFER_APPROVAL_SLA_SECONDS). The request opens the step; the decision is one
transaction that records it, moves the stock (an approval) or records the reason (a rejection), and closes
the request, so the decision answers with the transfer COMPLETED or REJECTED and the lifecycle ends."""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.approvals import Decision, DecisionEffect, DecisionResult
    from dto.stock import (
        DECIDE_TRANSFER,
        REQUEST_TRANSFER,
        WITHDRAW_TRANSFER,
        CreateTransfer,
        TransferDecisionEffect,
        TransferInput,
        TransferOutcomeEffect,
        TransferResult,
    )
    from workflows.approvals.approval import ApprovalEngine, HoldsApproval
    from workflows.lifecycle import effect, op_key, require_permission, show


def transfer_workflow_id(transfer_uid: str) -> str:
    return f"transfer-{transfer_uid}"


@workflow.defn(name="TransferV2")
class TransferWorkflow(HoldsApproval):
    @workflow.init
    def __init__(self, input: TransferInput) -> None:
        self.uid = input.transfer_uid
        self.transfer: TransferResult | None = None
        self.abandoned = False
        self.approval: ApprovalEngine | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: TransferInput) -> str:
        await workflow.wait_condition(lambda: self.transfer is not None or self.abandoned)
        if self.approval is not None:
            await self.approval.supervise(self._escalate)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.transfer.status.value if self.transfer else "ABANDONED"

    @workflow.update
    async def create(self, request: CreateTransfer) -> TransferResult:
        async with self.lock:
            try:
                transfer = await effect(REQUEST_TRANSFER, request)
            except ApplicationError:
                self.abandoned = self.transfer is None
                raise
            if transfer.approval is not None:  # its step is open
                self.approval = ApprovalEngine(transfer.approval, step=transfer.approval.steps[0])
            return self._absorb(transfer)

    @create.validator
    def _validate_create(self, request: CreateTransfer) -> None:
        require_permission(request.actor, Perm.STOCK_POST)

    @workflow.update
    async def decide(self, decision: Decision) -> DecisionResult:
        """The decision, answered with the transfer COMPLETED (stock moved) or REJECTED."""
        async with self.lock:
            approval = self._open_approval()
            step = approval.decidable_step(decision)  # again under the lock: racing deciders get one winner
            decided = await effect(DECIDE_TRANSFER, TransferDecisionEffect(
                transfer_uid=self.uid, decision=DecisionEffect(
                    instance_id=approval.request.instance_id, step=step, decision=decision, final=True,
                    op_key=op_key())))
            approval.decided(decision, final=True)
            self._end_approval()
            self._absorb(decided.transfer)
            return DecisionResult(task=decided.task, final=True, settled=True)

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._open_approval().decidable_step(decision)

    @workflow.update
    async def withdraw_approval(self, actor_id: int) -> TransferResult:
        """The request withdrawn by its requester or an admin: the transfer ends REJECTED."""
        async with self.lock:
            transfer = await effect(WITHDRAW_TRANSFER, TransferOutcomeEffect(
                transfer_uid=self.uid, outcome=self._withdrawal(actor_id), op_key=op_key()))
            self._end_approval()
            return self._absorb(transfer)

    @withdraw_approval.validator
    def _validate_withdraw(self, actor_id: int) -> None:
        self._open_approval()

    def _absorb(self, transfer: TransferResult) -> TransferResult:
        self.transfer = transfer
        self._show()
        return transfer

    def _show(self) -> None:
        transfer = self.transfer
        assert transfer is not None
        if self.approval is not None:
            waiting = self.approval.details("escalated; waiting for a decision" if self.approval.escalated
                                            else "waiting for a SUPERVISOR's decision")
        else:
            waiting = "done"
        show("transfer", transfer.id, transfer.status.value, f"**{transfer.status.value}** — {waiting}\n\n"
             f"{transfer.transfer_no}: {transfer.route}, value {transfer.total_value}")
