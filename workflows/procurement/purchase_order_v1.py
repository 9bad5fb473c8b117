"""The first purchase-order lifecycle (type `PurchaseOrder`), kept so the lifecycles started with it finish; new
purchase orders run `PurchaseOrderV2` (workflows/procurement/purchase_order.py), which holds its approval and goods
receipts itself.

`purchase-order-{id}`: draft → pending_approval → approved → ordered
→ (partially_)received, or cancelled; rejected and returned POs go back to draft for a new revision.

Approval runs as a child workflow (the approval engine); this workflow applies its outcome."""

import asyncio

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.approvals import ApprovalOutcome, ApprovalRequest
    from dto.procurement import (
        APPLY_PO_APPROVAL_OUTCOME,
        CANCEL_PURCHASE_ORDER,
        CREATE_PURCHASE_ORDER,
        DISCARD_PURCHASE_ORDER,
        ORDER_PURCHASE_ORDER,
        PURCHASE_ORDER_VIEW,
        REFRESH_PO_RECEIPT_STATUS,
        SUBMIT_PURCHASE_ORDER,
        CreatePo,
        OutcomeEffect,
        PoCommand,
        PoEffect,
        PoInput,
        PoState,
        PoStatus,
        PoView,
    )
    from workflows.approvals.approval import ApprovalWorkflow, approval_workflow_id
    from workflows.lifecycle import continue_as_new_due, effect, op_key, require_permission, require_state, show

FINISHED = (PoStatus.RECEIVED, PoStatus.CLOSED, PoStatus.CANCELLED)
CANCELLABLE = (PoStatus.DRAFT, PoStatus.PENDING_APPROVAL, PoStatus.APPROVED, PoStatus.ORDERED)


@workflow.defn(name="PurchaseOrder")
class PurchaseOrderV1Workflow:
    @workflow.init
    def __init__(self, input: PoInput) -> None:
        self.state = input.state or PoState(po_id=input.po_id)
        self.lock = asyncio.Lock()
        self.abandoned = False
        self.discarded = False
        self.approval: ChildWorkflowHandle[ApprovalWorkflow, ApprovalOutcome] | None = None
        self.receipts_stale = False

    @workflow.run
    async def run(self, input: PoInput) -> PoState:
        await workflow.wait_condition(lambda: self.state.created or self.abandoned)
        while not self._over():
            await workflow.wait_condition(lambda: self.approval is not None or self.receipts_stale or self._over()
                                          or self._may_continue())
            if self.approval is not None:
                await self._await_approval(self.approval)
            if self.receipts_stale:
                await self._refresh_receipts()
            if self._may_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(PoInput(po_id=self.state.po_id, state=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _over(self) -> bool:
        return self.abandoned or self.discarded or self.state.status in FINISHED

    def _may_continue(self) -> bool:
        """Continue-as-new only between approvals (the child's handle does not carry over)."""
        return continue_as_new_due() and self.approval is None and not self._over()

    async def _start_approval(self, request: ApprovalRequest) -> None:
        """Started before the submit answers, so a decision sent right after finds its workflow."""
        self.approval = await workflow.start_child_workflow(
            ApprovalWorkflow.run, request, id=approval_workflow_id(request.instance_id),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Approval of purchase order {self.state.po_id} ({request.amount})")

    async def _await_approval(self, approval: ChildWorkflowHandle[ApprovalWorkflow, ApprovalOutcome]) -> None:
        request = self.state.pending_approval
        assert request is not None
        try:
            outcome = await approval
        except ChildWorkflowError as err:
            workflow.logger.error("approval %s failed: %s", request.instance_id, err)
            self._show(f"approval {request.instance_id} failed; needs an operator")
            await workflow.wait_condition(lambda: self._over())
            return
        async with self.lock:
            view = await effect(APPLY_PO_APPROVAL_OUTCOME, OutcomeEffect(
                po_id=self.state.po_id, outcome=outcome, op_key=f"outcome-{outcome.instance_id}"))
            self.state.pending_approval, self.approval = None, None
            self.state.applied_instance_ids.append(outcome.instance_id)
            self._absorb(view)

    @workflow.update
    async def create(self, request: CreatePo) -> PoView:
        async with self.lock:
            try:
                view = await effect(CREATE_PURCHASE_ORDER, request)
            except ApplicationError:
                self.abandoned = not self.state.created
                raise
            self.state.created = True
            return self._absorb(view)

    @create.validator
    def _validate_create(self, request: CreatePo) -> None:
        require_permission(request.actor, Perm.MANAGE_ORDERS)

    @workflow.update
    async def submit(self, command: PoCommand) -> PoView:
        async with self.lock:
            result = await effect(SUBMIT_PURCHASE_ORDER, self._effect(command))
            self.state.pending_approval = result.approval
            if result.approval is not None:
                await self._start_approval(result.approval)
            return self._absorb(result.po)

    @submit.validator
    def _validate_submit(self, command: PoCommand) -> None:
        require_permission(command.actor, Perm.MANAGE_ORDERS)
        require_state(self.state.status, (PoStatus.DRAFT,), "purchase order", self.state.po_id, "submit")

    @workflow.update
    async def order(self, command: PoCommand) -> PoView:
        async with self.lock:
            return self._absorb(await effect(ORDER_PURCHASE_ORDER, self._effect(command)))

    @order.validator
    def _validate_order(self, command: PoCommand) -> None:
        require_permission(command.actor, Perm.MANAGE_ORDERS)
        require_state(self.state.status, (PoStatus.APPROVED,), "purchase order", self.state.po_id, "order")

    @workflow.update
    async def cancel(self, command: PoCommand) -> PoView:
        async with self.lock:
            view = self._absorb(await effect(CANCEL_PURCHASE_ORDER, self._effect(command)))
        if self.state.pending_approval is not None:
            child = workflow.get_external_workflow_handle(approval_workflow_id(
                self.state.pending_approval.instance_id))
            await child.signal(ApprovalWorkflow.cancel, command.actor.id)
        return view

    @cancel.validator
    def _validate_cancel(self, command: PoCommand) -> None:
        require_permission(command.actor, Perm.PO_CANCEL)
        require_state(self.state.status, CANCELLABLE, "purchase order", self.state.po_id, "cancel")

    @workflow.update
    async def discard(self, command: PoCommand) -> PoView:
        async with self.lock:
            view = await effect(DISCARD_PURCHASE_ORDER, self._effect(command))
            self.discarded = True
            return view

    @discard.validator
    def _validate_discard(self, command: PoCommand) -> None:
        require_permission(command.actor, Perm.MANAGE_ORDERS)
        require_state(self.state.status, (PoStatus.DRAFT,), "purchase order", self.state.po_id, "delete")

    @workflow.update
    async def settled(self, instance_id: int) -> PoView:
        """Answers once the outcome of approval `instance_id` is applied to the PO (the API waits on it)."""
        await workflow.wait_condition(lambda: instance_id in self.state.applied_instance_ids or self._over())
        async with self.lock:
            return await effect(PURCHASE_ORDER_VIEW, self.state.po_id)

    @workflow.signal
    def receipts_changed(self) -> None:
        """A goods receipt of this PO was accepted: the PO may now be (partially) received."""
        self.receipts_stale = True

    async def _refresh_receipts(self) -> None:
        self.receipts_stale = False
        async with self.lock:
            self._absorb(await effect(REFRESH_PO_RECEIPT_STATUS, self.state.po_id))

    def _effect(self, command: PoCommand) -> PoEffect:
        return PoEffect(po_id=self.state.po_id, op_key=op_key(), command=command)

    def _absorb(self, view: PoView) -> PoView:
        self.state.status = view.status
        self._show({PoStatus.DRAFT: "editable; waiting for submit",
                    PoStatus.PENDING_APPROVAL: f"waiting for approval {view.approval_instance_id}",
                    PoStatus.APPROVED: "waiting to be ordered", PoStatus.ORDERED: "waiting for goods",
                    PoStatus.PARTIALLY_RECEIVED: "waiting for the rest of the goods"}.get(view.status, "done"))
        return view

    def _show(self, waiting: str) -> None:
        show("purchase_order", self.state.po_id, self.state.status.value,
             f"**{self.state.status.value}** — {waiting}")
