"""Goods receipts (`/api/v1/purchase-orders/{id}/receive`, `/purchase-orders/grn/{id}/…`), run by their
purchase order's lifecycle (`purchase-order-{id}`); and the material stage of PO lines."""

from typing import Any

from fastapi import Query, Request
from sqlalchemy import select

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, TemporalDep, actor_of, in_transaction, require
from api.lifecycle import create_with_start, idempotency_key, transition, update_id
from api.procurement.schemas.goods_receipts import GoodsReceiptCreate, GoodsReceiptOut, StageBody
from api.procurement.schemas.purchase_orders import PurchaseOrderOut
from core.errors import AppError, not_found, workflow_violation
from core.permissions import Perm
from dto.procurement import CreateGrn, GrnCommand, GrnInput, GrnResult, GrnView
from models.procurement import LEGACY_PO_WORKFLOW_TYPE, GoodsReceipt, PurchaseOrder
from services.common import idempotency
from services.identity import Principal
from services.procurement import goods_receipts, purchase_order_reads, purchase_orders
from workflows.procurement.goods_receipt import GoodsReceiptWorkflow, goods_receipt_workflow_id
from workflows.procurement.purchase_order import PurchaseOrderWorkflow, purchase_order_workflow_id

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/purchase-orders", tags=["goods receipts"])


@router.get("/grn/{grn_id}", dependencies=[require(Perm.PO_VIEW)], response_model=GoodsReceiptOut)
def get_goods_receipt(grn_id: DbId, session: SessionDep) -> Any:
    return goods_receipts.render(session, goods_receipts.get_grn(session, grn_id))


@router.get("/{po_id}/receipts", dependencies=[require(Perm.PO_VIEW)], response_model=list[GoodsReceiptOut])
def list_receipts(po_id: DbId, session: SessionDep) -> Any:
    return [goods_receipts.render(session, grn) for grn in goods_receipts.receipts_of(session, po_id)]


def _prepare(session: Any, po_id: int, key: str | None) -> tuple[int, dict[str, Any] | None, str]:
    """The GRN id to create (or, for an `Idempotency-Key` seen before, the GRN it created, rendered) and the
    workflow type of the PO's lifecycle."""
    po = purchase_orders.get_po(session, po_id)  # 404 before any lifecycle call
    earlier = idempotency.known_id(session, "goods_receipt", key)
    if earlier is not None:
        grn = goods_receipts.find_grn(session, earlier)
        if grn is not None:
            return earlier, goods_receipts.render(session, grn), po.workflow_type
        return earlier, None, po.workflow_type
    return idempotency.reserve_id(session, "goods_receipts", "goods_receipt", key), None, po.workflow_type


def _rendered(session: Any, grn_id: int) -> dict[str, Any]:
    return goods_receipts.render(session, goods_receipts.get_grn(session, grn_id))


@router.post("/{po_id}/receive", status_code=201, response_model=GoodsReceiptOut)
async def receive(po_id: DbId, body: GoodsReceiptCreate, request: Request, client: TemporalDep,
                  user: Principal = require(Perm.PO_RECEIVE)) -> Any:
    """A goods receipt, run by the PO's own lifecycle (`receive`); a PO of the first lifecycle type gets a
    `goods-receipt-{id}` workflow of its own."""
    if body.purchase_order_id is not None and body.purchase_order_id != po_id:
        raise AppError("VALIDATION_ERROR", 422, "purchase_order_id must match the path",
                       [{"loc": ["body", "purchase_order_id"], "msg": "must match the path", "type": "value_error"}])
    grn_id, created_before, workflow_type = await in_transaction(request, _prepare, po_id, idempotency_key(request))
    if created_before is not None:
        return created_before
    create = CreateGrn(grn_id=grn_id, po_id=po_id, body=body.model_dump(mode="json"), actor=actor_of(user, request))
    if workflow_type == LEGACY_PO_WORKFLOW_TYPE:
        await create_with_start(
            client, run=GoodsReceiptWorkflow.run, start_input=GrnInput(grn_id=grn_id),
            workflow_id=goods_receipt_workflow_id(grn_id), create=GoodsReceiptWorkflow.create, request=create,
            result_type=GrnView, entity_type="goods_receipt", entity_id=grn_id,
            summary=f"Goods receipt {grn_id} for purchase order {po_id}", update_key=f"create-grn-{grn_id}")
    else:
        async def not_receivable() -> AppError:  # the PO's lifecycle has ended: received or cancelled
            po = await in_transaction(request, purchase_orders.get_po, po_id)
            try:
                goods_receipts.require_receivable(po)
            except AppError as err:
                return err
            return workflow_violation(f"Purchase order {po.po_number} takes no more goods", {"status": po.status})

        await transition(client, purchase_order_workflow_id(po_id), PurchaseOrderWorkflow.receive, create,
                         f"create-grn-{grn_id}", not_receivable)
    return await in_transaction(request, _rendered, grn_id)


def _receipt_owner(session: Any, grn_id: int) -> tuple[int, str]:
    """The receipt's PO and the workflow type of its lifecycle, in one statement; 404 for an unknown receipt."""
    row = session.execute(select(GoodsReceipt.purchase_order_id, PurchaseOrder.workflow_type)
                          .join(PurchaseOrder, PurchaseOrder.id == GoodsReceipt.purchase_order_id)
                          .where(GoodsReceipt.id == grn_id)).first()
    if row is None:
        raise not_found("Goods receipt", grn_id)
    return row.purchase_order_id, row.workflow_type


async def _grn_command(request: Request, client: Any, grn_id: int, command: GrnCommand) -> Any:
    """Inspect or accept, delivered to the lifecycle that runs the receipt (the PO's, or its own)."""
    po_id, workflow_type = await in_transaction(request, _receipt_owner, grn_id)
    legacy = workflow_type == LEGACY_PO_WORKFLOW_TYPE
    workflow_id = goods_receipt_workflow_id(grn_id) if legacy else purchase_order_workflow_id(po_id)

    async def gone() -> AppError:
        grn = await in_transaction(request, lambda s: goods_receipts.get_grn(s, grn_id))
        return workflow_violation(f"Cannot {command.action} goods receipt {grn.grn_number} in status {grn.status}",
                                  {"status": grn.status})

    await transition(client, workflow_id, command.action, command.model_copy(update={"grn_id": grn_id}),
                     update_id(request, f"{command.action}-grn-{grn_id}"), gone, result_type=GrnResult)
    return await in_transaction(request, _rendered, grn_id)


@router.post("/grn/{grn_id}/inspect", response_model=GoodsReceiptOut)
async def inspect(grn_id: DbId, request: Request, client: TemporalDep, inspection_passed: bool = Query(...),
                  inspection_notes: SafeStr | None = Query(None, max_length=4000),
                  user: Principal = require(Perm.PO_INSPECT)) -> Any:
    command = GrnCommand(action="inspect", actor=actor_of(user, request),
                         payload={"passed": inspection_passed, "notes": inspection_notes})
    return await _grn_command(request, client, grn_id, command)


@router.post("/grn/{grn_id}/accept", response_model=GoodsReceiptOut)
async def accept(grn_id: DbId, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.PO_RECEIVE)) -> Any:
    return await _grn_command(request, client, grn_id, GrnCommand(action="accept", actor=actor_of(user, request)))


@router.put("/{po_id}/items/{item_id}/stage", response_model=PurchaseOrderOut)
async def update_stage(po_id: DbId, item_id: DbId, body: StageBody, request: Request,
                       user: Principal = require(Perm.PO_RECEIVE)) -> Any:
    def change(session: Any) -> dict[str, Any]:
        goods_receipts.update_stage(session, po_id, item_id, body.material_stage.value, body.notes, user.id)
        return purchase_order_reads.render(session, purchase_orders.get_po(session, po_id))

    return await in_transaction(request, change)
