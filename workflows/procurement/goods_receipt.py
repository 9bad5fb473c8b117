"""The goods-receipt lifecycle of purchase orders started before `PurchaseOrderV2` (whose receipts run inside
the PO's own lifecycle), kept so those finish. `goods-receipt-{id}`: a GRN that needs inspection waits in
pending_inspection for QA; a passed (or inspection-free) GRN waits for Store to accept it into inventory;
acceptance tells the purchase order, whose lifecycle then moves to partially_received or received."""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.procurement import (
        ACCEPT_GOODS_RECEIPT,
        CREATE_GOODS_RECEIPT,
        INSPECT_GOODS_RECEIPT,
        CreateGrn,
        GrnCommand,
        GrnEffect,
        GrnInput,
        GrnState,
        GrnStatus,
        GrnView,
    )
    from workflows.lifecycle import effect, op_key, require_permission, require_state, show
    from workflows.procurement.purchase_order import purchase_order_workflow_id
    from workflows.procurement.purchase_order_v1 import PurchaseOrderV1Workflow

AWAITING_ACCEPTANCE = (GrnStatus.DRAFT, GrnStatus.INSPECTION_PASSED)
FINISHED = (GrnStatus.ACCEPTED, GrnStatus.INSPECTION_FAILED, GrnStatus.REJECTED)


def goods_receipt_workflow_id(grn_id: int) -> str:
    return f"goods-receipt-{grn_id}"


@workflow.defn(name="GoodsReceipt")
class GoodsReceiptWorkflow:
    @workflow.init
    def __init__(self, input: GrnInput) -> None:
        self.state = input.state or GrnState(grn_id=input.grn_id)
        self.lock = asyncio.Lock()
        self.abandoned = False
        self.po_news = False

    @workflow.run
    async def run(self, input: GrnInput) -> GrnState:
        await workflow.wait_condition(lambda: self.state.created or self.abandoned)
        await workflow.wait_condition(lambda: self.abandoned or self.state.status in FINISHED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.po_news and self.state.po_id is not None:
            po: workflow.ExternalWorkflowHandle[PurchaseOrderV1Workflow] = workflow.get_external_workflow_handle_for(
                PurchaseOrderV1Workflow.run, purchase_order_workflow_id(self.state.po_id))
            await po.signal(PurchaseOrderV1Workflow.receipts_changed)
        return self.state

    @workflow.update
    async def create(self, request: CreateGrn) -> GrnView:
        async with self.lock:
            try:
                view = await effect(CREATE_GOODS_RECEIPT, request)
            except ApplicationError:
                self.abandoned = not self.state.created
                raise
            self.state.created, self.state.po_id = True, view.purchase_order_id
            return self._absorb(view)

    @create.validator
    def _validate_create(self, request: CreateGrn) -> None:
        require_permission(request.actor, Perm.PO_RECEIVE)

    @workflow.update
    async def inspect(self, command: GrnCommand) -> GrnView:
        async with self.lock:
            return self._absorb(await effect(INSPECT_GOODS_RECEIPT, self._effect(command)))

    @inspect.validator
    def _validate_inspect(self, command: GrnCommand) -> None:
        require_permission(command.actor, Perm.PO_INSPECT)
        require_state(self.state.status, (GrnStatus.PENDING_INSPECTION,), "goods receipt", self.state.grn_id,
                      "inspect")

    @workflow.update
    async def accept(self, command: GrnCommand) -> GrnView:
        async with self.lock:
            view = self._absorb(await effect(ACCEPT_GOODS_RECEIPT, self._effect(command)))
            self.po_news = True
            return view

    @accept.validator
    def _validate_accept(self, command: GrnCommand) -> None:
        require_permission(command.actor, Perm.PO_RECEIVE)
        require_state(self.state.status, AWAITING_ACCEPTANCE, "goods receipt", self.state.grn_id, "accept")

    def _effect(self, command: GrnCommand) -> GrnEffect:
        return GrnEffect(grn_id=self.state.grn_id, op_key=op_key(), command=command)

    def _absorb(self, view: GrnView) -> GrnView:
        self.state.status = view.status
        waiting = {GrnStatus.PENDING_INSPECTION: "waiting for QA inspection",
                   GrnStatus.DRAFT: "waiting for Store to accept it into inventory",
                   GrnStatus.INSPECTION_PASSED: "inspection passed; waiting for Store to accept it"}
        show("goods_receipt", self.state.grn_id, view.status.value,
             f"**{view.status.value}** — {waiting.get(view.status, 'done')}\n\npurchase order {view.purchase_order_id}")
        return view
