"""The first transfer lifecycle (type `Transfer`), kept so the lifecycles started with it finish; new transfers
run `TransferV2` (workflows/stock/transfer.py), which runs its approval itself.

`transfer-{uid}`: PENDING_APPROVAL → COMPLETED or REJECTED.

Its approval runs as a child workflow of the approval engine (one SUPERVISOR step, escalated to the
ADMINs past TRANSFER_APPROVAL_SLA_SECONDS). The approving decision moves the stock in its own
transaction (services/stock/transfers.py via the engine's decision hook); this workflow then records
the outcome (a rejection's reason) and ends."""

import asyncio

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.approvals import ApprovalOutcome, ApprovalRequest
    from dto.stock import (
        APPLY_TRANSFER_OUTCOME,
        CREATE_TRANSFER,
        CreateTransfer,
        TransferInput,
        TransferOutcomeEffect,
        TransferView,
    )
    from workflows.approvals.approval import ApprovalWorkflow, approval_workflow_id
    from workflows.lifecycle import effect, require_permission, show


@workflow.defn(name="Transfer")
class TransferV1Workflow:
    @workflow.init
    def __init__(self, input: TransferInput) -> None:
        self.uid = input.transfer_uid
        self.view: TransferView | None = None
        self.abandoned = False
        self.approval: ApprovalRequest | None = None
        self.settled_instance: int | None = None
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: TransferInput) -> str:
        await workflow.wait_condition(lambda: self.view is not None or self.abandoned)
        if self.approval is not None:
            outcome = await self._await_approval(self.approval)
            if outcome is not None:
                async with self.lock:
                    self._absorb(await effect(APPLY_TRANSFER_OUTCOME, TransferOutcomeEffect(
                        transfer_uid=self.uid, outcome=outcome, op_key=f"outcome-{outcome.instance_id}")))
                    self.settled_instance = outcome.instance_id
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view.status.value if self.view else "ABANDONED"

    async def _await_approval(self, request: ApprovalRequest) -> ApprovalOutcome | None:
        try:
            return await workflow.execute_child_workflow(
                ApprovalWorkflow.run, request, id=approval_workflow_id(request.instance_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Approval of transfer {self._number()} ({request.amount})")
        except ChildWorkflowError as err:
            workflow.logger.error("approval %s failed: %s", request.instance_id, err)
            self._show("PENDING_APPROVAL", f"approval {request.instance_id} failed; needs an operator")
            await workflow.wait_condition(lambda: False)
            return None

    @workflow.update
    async def create(self, request: CreateTransfer) -> TransferView:
        async with self.lock:
            try:
                view = await effect(CREATE_TRANSFER, request)
            except ApplicationError:
                self.abandoned = self.view is None
                raise
            self.approval = view.approval
            return self._absorb(view)

    @create.validator
    def _validate_create(self, request: CreateTransfer) -> None:
        require_permission(request.actor, Perm.STOCK_POST)

    @workflow.update
    async def settled(self, instance_id: int) -> TransferView:
        """Answers once the outcome of approval `instance_id` is recorded on the transfer."""
        await workflow.wait_condition(lambda: self.settled_instance == instance_id)
        assert self.view is not None
        return self.view

    def _absorb(self, view: TransferView) -> TransferView:
        self.view = view
        waiting = {"PENDING_APPROVAL": "waiting for a SUPERVISOR's decision"}.get(view.status.value, "done")
        self._show(view.status.value, waiting)
        return view

    def _number(self) -> str:
        return str(self.view.body.get("transfer_no")) if self.view else self.uid

    def _show(self, status: str, waiting: str) -> None:
        body = self.view.body if self.view else {}
        route = f"{(body.get('from_location') or {}).get('code')} → {(body.get('to_location') or {}).get('code')}"
        show("transfer", self.view.id if self.view else 0, status,
             f"**{status}** — {waiting}\n\n{self._number()}: {route}, value {body.get('total_value')}")
