"""The purchase-order lifecycle (`purchase-order-{id}`, type `PurchaseOrderV2`): draft → pending_approval →
approved → ordered → (partially_)received, or cancelled; rejected, returned and withdrawn approvals go back
to draft for a new revision.

One workflow runs the whole of a PO: its approval (the approval engine, `workflows.approvals.approval.ApprovalEngine`:
steps, rules, SLA timers, escalation) and its goods receipts (pending_inspection → inspection_passed or
_failed; draft or passed → accepted). A decision and its consequence for the PO, or an acceptance and the PO's
receipt status, are one transaction, so every update answers with the PO already moved. Updates answer ids,
statuses and versions; the API reads bodies from PostgreSQL."""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.approvals import Decision, DecisionEffect
    from dto.procurement import (
        ACCEPT_PO_GOODS,
        CANCEL_PO,
        CREATE_PO,
        DECIDE_PO_APPROVAL,
        DISCARD_PO,
        INSPECT_PO_GOODS,
        ORDER_PO,
        RECEIVE_PO_GOODS,
        SUBMIT_PO,
        WITHDRAW_PO_APPROVAL,
        CreateGrn,
        CreatePo,
        GrnCommand,
        GrnEffect,
        GrnResult,
        GrnStatus,
        OutcomeEffect,
        PoCommand,
        PoDecisionEffect,
        PoDecisionResult,
        PoEffect,
        PoLifecycleInput,
        PoLifecycleState,
        PoResult,
        PoStatus,
    )
    from workflows.approvals.approval import ApprovalEngine, HoldsApproval
    from workflows.lifecycle import continue_as_new_due, effect, op_key, require_permission, require_state, show

FINISHED = (PoStatus.RECEIVED, PoStatus.CLOSED, PoStatus.CANCELLED)
CANCELLABLE = (PoStatus.DRAFT, PoStatus.PENDING_APPROVAL, PoStatus.APPROVED, PoStatus.ORDERED)
RECEIPT_OPEN = (GrnStatus.DRAFT, GrnStatus.PENDING_INSPECTION, GrnStatus.INSPECTION_PASSED)
AWAITING_ACCEPTANCE = (GrnStatus.DRAFT, GrnStatus.INSPECTION_PASSED)
WAITING = {PoStatus.DRAFT: "editable; waiting for submit", PoStatus.APPROVED: "waiting to be ordered",
           PoStatus.ORDERED: "waiting for goods", PoStatus.PARTIALLY_RECEIVED: "waiting for the rest of the goods"}


def purchase_order_workflow_id(po_id: int) -> str:
    return f"purchase-order-{po_id}"


@workflow.defn(name="PurchaseOrderV2")
class PurchaseOrderWorkflow(HoldsApproval):
    @workflow.init
    def __init__(self, input: PoLifecycleInput) -> None:
        self.state = input.state or PoLifecycleState(po_id=input.po_id)
        self.lock = asyncio.Lock()
        self.abandoned = False
        self.discarded = False
        self.approval: ApprovalEngine | None = None

    @workflow.run
    async def run(self, input: PoLifecycleInput) -> PoLifecycleState:
        await workflow.wait_condition(lambda: self.state.created or self.abandoned)
        while not self._over():
            await workflow.wait_condition(lambda: self.approval is not None or self._over() or self._may_continue())
            if self.approval is not None:
                await self.approval.supervise(self._escalate)
            elif self._may_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(PoLifecycleInput(po_id=self.state.po_id, state=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _over(self) -> bool:
        """Ended, and no goods receipt still waits for QA or Store."""
        ended = self.abandoned or self.discarded or self.state.status in FINISHED
        return ended and not any(status in RECEIPT_OPEN for status in self.state.receipts.values())

    def _may_continue(self) -> bool:
        """Continue-as-new only between approvals (a running approval's timers stay in this run)."""
        return continue_as_new_due() and self.approval is None and not self._over()

    # --- the purchase order -----------------------------------------------------------------------------

    @workflow.update
    async def create(self, request: CreatePo) -> PoResult:
        async with self.lock:
            try:
                po = await effect(CREATE_PO, request)
            except ApplicationError:
                self.abandoned = not self.state.created
                raise
            self.state.created = True
            return self._absorb(po)

    @create.validator
    def _validate_create(self, request: CreatePo) -> None:
        require_permission(request.actor, Perm.MANAGE_ORDERS)

    @workflow.update
    async def submit(self, command: PoCommand) -> PoResult:
        async with self.lock:
            submitted = await effect(SUBMIT_PO, self._effect(command))
            if submitted.approval is not None:  # its first step is open
                self.approval = ApprovalEngine(submitted.approval, step=submitted.approval.steps[0])
            return self._absorb(submitted.po)

    @submit.validator
    def _validate_submit(self, command: PoCommand) -> None:
        self._require(command, Perm.MANAGE_ORDERS, (PoStatus.DRAFT,), "submit")

    @workflow.update
    async def order(self, command: PoCommand) -> PoResult:
        async with self.lock:
            return self._absorb(await effect(ORDER_PO, self._effect(command)))

    @order.validator
    def _validate_order(self, command: PoCommand) -> None:
        self._require(command, Perm.MANAGE_ORDERS, (PoStatus.APPROVED,), "order")

    @workflow.update
    async def cancel(self, command: PoCommand) -> PoResult:
        """Cancelling a PO that waits for approval withdraws the approval too (in the same transaction)."""
        async with self.lock:
            po = await effect(CANCEL_PO, self._effect(command))
            self._end_approval()
            return self._absorb(po)

    @cancel.validator
    def _validate_cancel(self, command: PoCommand) -> None:
        self._require(command, Perm.PO_CANCEL, CANCELLABLE, "cancel")

    @workflow.update
    async def discard(self, command: PoCommand) -> PoResult:
        async with self.lock:
            po = await effect(DISCARD_PO, self._effect(command))
            self.discarded = True
            return po

    @discard.validator
    def _validate_discard(self, command: PoCommand) -> None:
        self._require(command, Perm.MANAGE_ORDERS, (PoStatus.DRAFT,), "delete")

    # --- its approval -------------------------------------------------------------------------------------

    @workflow.update
    async def decide(self, decision: Decision) -> PoDecisionResult:
        """One approval step decided; a final decision answers with its outcome applied to the PO."""
        async with self.lock:
            approval = self._open_approval()
            step = approval.decidable_step(decision)  # again under the lock: racing deciders get one winner
            final = approval.is_final(step, decision)
            following = None if final else approval.next_step(step)
            result = await effect(DECIDE_PO_APPROVAL, PoDecisionEffect(
                po_id=self.state.po_id, next_step=following, decision=DecisionEffect(
                    instance_id=approval.request.instance_id, step=step, decision=decision, final=final,
                    op_key=op_key())))
            approval.decided(decision, final)
            if following is not None:
                approval.opened(following)
            else:
                self._end_approval()
            if result.po is not None:
                self._absorb(result.po)
            return result

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._open_approval().decidable_step(decision)

    @workflow.update
    async def withdraw_approval(self, actor_id: int) -> PoResult:
        """The requester (or an admin) withdrew the approval request: the PO is a draft again."""
        async with self.lock:
            po = await effect(WITHDRAW_PO_APPROVAL, OutcomeEffect(
                po_id=self.state.po_id, outcome=self._withdrawal(actor_id), op_key=op_key()))
            self._end_approval()
            return self._absorb(po)

    @withdraw_approval.validator
    def _validate_withdraw(self, actor_id: int) -> None:
        self._open_approval()

    # --- its goods receipts -------------------------------------------------------------------------------

    @workflow.update
    async def receive(self, request: CreateGrn) -> GrnResult:
        async with self.lock:
            return self._absorb_receipt(await effect(RECEIVE_PO_GOODS, request))

    @receive.validator
    def _validate_receive(self, request: CreateGrn) -> None:
        require_permission(request.actor, Perm.PO_RECEIVE)

    @workflow.update
    async def inspect(self, command: GrnCommand) -> GrnResult:
        async with self.lock:
            return self._absorb_receipt(await effect(INSPECT_PO_GOODS, self._receipt_effect(command)))

    @inspect.validator
    def _validate_inspect(self, command: GrnCommand) -> None:
        require_permission(command.actor, Perm.PO_INSPECT)
        self._require_receipt(command, (GrnStatus.PENDING_INSPECTION,))

    @workflow.update
    async def accept(self, command: GrnCommand) -> GrnResult:
        """Into inventory; the PO becomes partially_received or received in the same transaction."""
        async with self.lock:
            return self._absorb_receipt(await effect(ACCEPT_PO_GOODS, self._receipt_effect(command)))

    @accept.validator
    def _validate_accept(self, command: GrnCommand) -> None:
        require_permission(command.actor, Perm.PO_RECEIVE)
        self._require_receipt(command, AWAITING_ACCEPTANCE)

    def _require_receipt(self, command: GrnCommand, allowed: tuple[GrnStatus, ...]) -> None:
        grn_id = command.grn_id or 0
        require_state(self.state.receipts.get(grn_id, GrnStatus.REJECTED), allowed, "goods receipt", grn_id,
                      command.action)

    def _receipt_effect(self, command: GrnCommand) -> GrnEffect:
        return GrnEffect(grn_id=command.grn_id or 0, op_key=op_key(), command=command)

    def _absorb_receipt(self, receipt: GrnResult) -> GrnResult:
        self.state.receipts[receipt.id] = receipt.status
        if receipt.po_status is not None:
            self.state.status = receipt.po_status
        self._show()
        return receipt

    # --- what it shows ------------------------------------------------------------------------------------

    def _require(self, command: PoCommand, perm: Perm, allowed: tuple[PoStatus, ...], action: str) -> None:
        require_permission(command.actor, perm)
        require_state(self.state.status, allowed, "purchase order", self.state.po_id, action)

    def _effect(self, command: PoCommand) -> PoEffect:
        return PoEffect(po_id=self.state.po_id, op_key=op_key(), command=command)

    def _absorb(self, po: PoResult) -> PoResult:
        self.state.status = po.status
        self._show()
        return po

    def _show(self) -> None:
        """The PO's status as a search attribute; what it waits for (an approval step, QA, Store) as details."""
        status = self.state.status
        if self.approval is not None:
            waiting = self.approval.details("escalated; waiting for a decision" if self.approval.escalated
                                            else "waiting for a decision")
        else:
            waiting = WAITING.get(status, "done")
        open_receipts = [f"{grn_id}: {s.value}" for grn_id, s in self.state.receipts.items() if s in RECEIPT_OPEN]
        receipts = f"\n\ngoods receipts waiting: {', '.join(open_receipts)}" if open_receipts else ""
        show("purchase_order", self.state.po_id, status.value, f"**{status.value}** — {waiting}{receipts}",
             pending_role=self._pending_role(), tracks_pending_role=True)

    def _pending_role(self) -> str | None:
        step = self.approval.step if self.approval is not None else None
        if step is None:
            return None
        return step.approver_role or f"user:{step.approver_user_id}"
