"""Goods receipts against purchase orders: receive, inspect (a failure raises an NCR), accept into
inventory; and the material stage of PO lines. Never commits."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import dated_number, yearly_number
from core.timeutil import iso_z, utcnow
from dto.procurement import GrnStatus, GrnView, PoStatus
from models.procurement import GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine
from models.quality import NonConformance
from services import audit, notifications
from services.common.guards import locked
from services.procurement import inventory, purchase_orders

RECEIVABLE = (PoStatus.APPROVED, PoStatus.ORDERED, PoStatus.PARTIALLY_RECEIVED)
NOT_COUNTED = (GrnStatus.INSPECTION_FAILED, GrnStatus.REJECTED)
STAGE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "on_order": ("in_inspection", "raw_material"),
    "in_inspection": ("raw_material", "scrapped"),
    "raw_material": ("wip", "consumed"),
    "wip": ("finished_goods", "scrapped"),
    "finished_goods": ("consumed", "scrapped"),
}
GRN_FIELDS = ("receipt_date", "delivery_note_number", "invoice_number", "carrier", "tracking_number",
              "packing_slip_received", "coc_received", "mtr_received", "storage_location", "notes")
LINE_FIELDS = ("unit_of_measure", "lot_number", "batch_number", "heat_number", "manufacture_date", "expiry_date",
               "storage_location", "bin_number", "notes")


def get_grn(session: Session, grn_id: int, lock: bool = False) -> GoodsReceipt:
    if lock:
        return locked(session, GoodsReceipt, grn_id, "Goods receipt")
    grn = session.get(GoodsReceipt, grn_id)
    if grn is None:
        raise not_found("Goods receipt", grn_id)
    return grn


def find_grn(session: Session, grn_id: int) -> GoodsReceipt | None:
    return session.get(GoodsReceipt, grn_id)


def lines_of(session: Session, grn_id: int) -> list[GoodsReceiptLine]:
    return list(session.scalars(select(GoodsReceiptLine).where(GoodsReceiptLine.goods_receipt_id == grn_id)
                                .order_by(GoodsReceiptLine.id)))


def _received_so_far(session: Session, po_line_id: int) -> Decimal:
    """What earlier receipts of this line took (failed or rejected receipts give their quantity back)."""
    return Decimal(session.scalar(
        select(func.coalesce(func.sum(GoodsReceiptLine.quantity_received), 0))
        .join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.goods_receipt_id)
        .where(GoodsReceiptLine.po_line_item_id == po_line_id, GoodsReceipt.status.not_in(NOT_COUNTED))) or 0)


def _typed_line(values: dict[str, Any]) -> dict[str, Any]:
    result = dict(values)
    result["quantity_received"] = Decimal(str(values["quantity_received"]))
    for key in ("manufacture_date", "expiry_date"):
        if isinstance(values.get(key), str):
            result[key] = date.fromisoformat(values[key])
    return result


def create(session: Session, grn_id: int, po_id: int, body: dict[str, Any], actor_id: int) -> GoodsReceipt:
    """A GRN against an approved or ordered PO; more than a line's open quantity is refused, naming the line."""
    existing = session.get(GoodsReceipt, grn_id)
    if existing is not None:
        return existing
    po = purchase_orders.get_po(session, po_id, lock=True)
    require_receivable(po)
    po_lines = {line.id: line for line in purchase_orders.lines_of(session, po.id)}
    lines = [_typed_line(line) for line in body.get("line_items") or []]
    if not lines:
        raise AppError("VALIDATION_ERROR", 422, "A goods receipt needs at least one line item")
    inspect = po.requires_inspection or any(po_lines[line["po_line_item_id"]].requires_inspection
                                            for line in lines if line["po_line_item_id"] in po_lines)
    for line in lines:
        _check_open_quantity(session, po, po_lines, line)
    header = {k: body[k] for k in GRN_FIELDS if body.get(k) is not None}
    if isinstance(header.get("receipt_date"), str):
        header["receipt_date"] = date.fromisoformat(header["receipt_date"])
    grn = GoodsReceipt(id=grn_id, grn_number=dated_number(session, "GRN"), purchase_order_id=po.id,
                       received_by_id=actor_id, requires_inspection=inspect,
                       status=GrnStatus.PENDING_INSPECTION if inspect else GrnStatus.DRAFT, **header)
    session.add(grn)
    session.flush()
    for line in lines:
        session.add(GoodsReceiptLine(goods_receipt_id=grn.id, po_line_item_id=line["po_line_item_id"],
                                     quantity_received=line["quantity_received"],
                                     **{k: line[k] for k in LINE_FIELDS if line.get(k) is not None}))
        if inspect:
            po_lines[line["po_line_item_id"]].material_stage = "in_inspection"
    if inspect:
        notifications.enqueue(session, key=f"inspection:{grn.id}", kind="inspection_required",
                              recipients=notifications.users_with_role(session, "qa"), reference_type="goods_receipt",
                              reference_id=grn.id, reference=grn.grn_number, po_number=po.po_number)
    audit.record(session, actor_id=actor_id, entity_type="goods_receipt", entity_id=grn.id,
                 action_type="GRN_CREATED", payload_diff=audit.created(
                     {"grn_number": grn.grn_number, "purchase_order_id": po.id, "status": grn.status,
                      "lines": len(lines)}))
    session.flush()
    return grn


def require_receivable(po: PurchaseOrder) -> None:
    if po.status not in RECEIVABLE:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Goods can be received only against an approved or ordered "
                       f"purchase order; {po.po_number} is {po.status}", {"status": po.status})


def _check_open_quantity(session: Session, po: PurchaseOrder, po_lines: dict[int, PurchaseOrderLine],
                         line: dict[str, Any]) -> None:
    po_line = po_lines.get(line["po_line_item_id"])
    if po_line is None:
        raise AppError("NOT_FOUND", 404, f"Line item {line['po_line_item_id']} is not on {po.po_number}",
                       {"po_line_item_id": line["po_line_item_id"]})
    open_quantity = po_line.quantity_ordered - _received_so_far(session, po_line.id)
    if line["quantity_received"] > open_quantity:
        raise AppError("OVER_RECEIPT", 400, f"Line {po_line.line_number} (item {po_line.id}): receiving "
                       f"{line['quantity_received']} exceeds the open quantity {open_quantity}",
                       {"po_line_item_id": po_line.id, "line_number": po_line.line_number,
                        "requested": float(line["quantity_received"]), "open_quantity": float(open_quantity)})


def inspect(session: Session, grn_id: int, passed: bool, notes: str | None, actor_id: int) -> GoodsReceipt:
    """QA's verdict; a failed inspection raises a non-conformance record of kind `inspection`."""
    grn = get_grn(session, grn_id, lock=True)
    if grn.status != GrnStatus.PENDING_INSPECTION:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Goods receipt {grn.grn_number} is {grn.status}, not "
                       f"pending inspection", {"status": grn.status})
    grn.status = GrnStatus.INSPECTION_PASSED if passed else GrnStatus.INSPECTION_FAILED
    grn.inspected_by_id, grn.inspected_at, grn.inspection_notes = actor_id, utcnow(), notes
    grn.version += 1
    if not passed:
        grn.ncr_id = _raise_ncr(session, grn, notes, actor_id).id
    audit.record(session, actor_id=actor_id, entity_type="goods_receipt", entity_id=grn.id,
                 action_type="GRN_INSPECTION_PASSED" if passed else "GRN_INSPECTION_FAILED",
                 payload_diff={"status": {"old": "pending_inspection", "new": grn.status},
                               "inspection_notes": {"old": None, "new": notes}})
    session.flush()
    return grn


def _raise_ncr(session: Session, grn: GoodsReceipt, notes: str | None, actor_id: int) -> NonConformance:
    po = purchase_orders.get_po(session, grn.purchase_order_id)
    lines = lines_of(session, grn.id)
    first = session.get(PurchaseOrderLine, lines[0].po_line_item_id) if lines else None
    ncr = NonConformance(ncr_number=yearly_number(session, "NCR"), kind="inspection", status="OPEN",
                         source_type="goods_receipt", source_id=grn.id,
                         title=f"Inspection failed for {grn.grn_number} ({po.po_number})", description=notes,
                         supplier_id=po.supplier_id, material_id=first.material_id if first else None,
                         quantity=sum((line.quantity_received for line in lines), Decimal(0)),
                         created_by_id=actor_id)
    session.add(ncr)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="ncr", entity_id=ncr.id, action_type="NCR_RAISED",
                 payload_diff=audit.created({"ncr_number": ncr.ncr_number, "kind": "inspection",
                                             "source": grn.grn_number}))
    return ncr


def accept(session: Session, grn_id: int, actor_id: int) -> GoodsReceipt:
    """Into inventory: one stock record per line (idempotent by line), quantities onto the PO lines."""
    grn = get_grn(session, grn_id, lock=True)
    if grn.status not in (GrnStatus.DRAFT, GrnStatus.INSPECTION_PASSED):
        raise AppError("WORKFLOW_VIOLATION", 409, f"Goods receipt {grn.grn_number} is {grn.status}; only a "
                       f"receipt awaiting acceptance can be accepted", {"status": grn.status})
    po = purchase_orders.get_po(session, grn.purchase_order_id, lock=True)
    for line in lines_of(session, grn.id):
        _accept_line(session, po, grn, line, actor_id)
    grn.status, grn.accepted_by_id, grn.accepted_at = GrnStatus.ACCEPTED, actor_id, utcnow()
    grn.version += 1
    audit.record(session, actor_id=actor_id, entity_type="goods_receipt", entity_id=grn.id,
                 action_type="GRN_ACCEPTED", payload_diff={"status": {"old": "awaiting acceptance",
                                                                      "new": "accepted"}})
    session.flush()
    return grn


def _accept_line(session: Session, po: PurchaseOrder, grn: GoodsReceipt, line: GoodsReceiptLine,
                 actor_id: int) -> None:
    po_line = locked(session, PurchaseOrderLine, line.po_line_item_id, "Purchase order line")
    stock = inventory.receive(
        session, material_id=po_line.material_id, quantity=line.quantity_received,
        unit_of_measure=line.unit_of_measure or po_line.unit_of_measure, lot_number=line.lot_number,
        batch_number=line.batch_number, heat_number=line.heat_number,
        location=line.storage_location or grn.storage_location, bin_number=line.bin_number,
        manufacture_date=line.manufacture_date, expiration_date=line.expiry_date, unit_cost=po_line.unit_price,
        reference_number=f"{po.po_number}/{grn.grn_number}", actor_id=actor_id, source_key=f"grn-line:{line.id}")
    line.quantity_accepted, line.inventory_id = line.quantity_received, stock.id
    po_line.quantity_received += line.quantity_received
    po_line.quantity_accepted += line.quantity_received
    po_line.material_stage = "raw_material"


def update_stage(session: Session, po_id: int, line_id: int, stage: str, notes: str | None,
                 actor_id: int) -> PurchaseOrderLine:
    """The contract's stage transitions; anything else is a 409 naming both stages."""
    po = purchase_orders.get_po(session, po_id)
    line = locked(session, PurchaseOrderLine, line_id, "Purchase order line")
    if line.purchase_order_id != po.id:
        raise not_found("Purchase order line", line_id)
    if stage not in STAGE_TRANSITIONS.get(line.material_stage, ()):
        raise AppError("WORKFLOW_VIOLATION", 409, f"Material stage cannot go from {line.material_stage} to {stage}",
                       {"from": line.material_stage, "to": stage,
                        "allowed": list(STAGE_TRANSITIONS.get(line.material_stage, ()))})
    before = line.material_stage
    line.material_stage = stage
    audit.record(session, actor_id=actor_id, entity_type="purchase_order", entity_id=po.id,
                 action_type="PO_LINE_STAGE_CHANGED", payload_diff={"material_stage": {"old": before, "new": stage},
                                                                    "line_id": {"old": None, "new": line.id},
                                                                    "notes": {"old": None, "new": notes}})
    session.flush()
    return line


def view(session: Session, grn: GoodsReceipt) -> GrnView:
    return GrnView(id=grn.id, status=GrnStatus(grn.status), purchase_order_id=grn.purchase_order_id,
                   version=grn.version, data=render(session, grn))


def render(session: Session, grn: GoodsReceipt) -> dict[str, Any]:
    data = {c.key: audit.json_safe(getattr(grn, c.key)) for c in GoodsReceipt.__table__.columns}
    data["uid"] = str(grn.uid)
    for key in ("created_at", "updated_at", "inspected_at", "accepted_at"):
        data[key] = iso_z(getattr(grn, key))
    ncr = session.get(NonConformance, grn.ncr_id) if grn.ncr_id else None
    data["ncr_number"] = ncr.ncr_number if ncr else None
    data["line_items"] = [_line_data(line) for line in lines_of(session, grn.id)]
    return data


def _line_data(line: GoodsReceiptLine) -> dict[str, Any]:
    data = {c.key: getattr(line, c.key) for c in GoodsReceiptLine.__table__.columns if c.key != "uid"}
    data = {k: float(v) if isinstance(v, Decimal) else audit.json_safe(v) for k, v in data.items()}
    data["created_at"], data["updated_at"] = iso_z(line.created_at), iso_z(line.updated_at)
    return data


def receipts_of(session: Session, po_id: int) -> list[GoodsReceipt]:
    purchase_orders.get_po(session, po_id)
    return list(session.scalars(select(GoodsReceipt).where(GoodsReceipt.purchase_order_id == po_id)
                                .order_by(GoodsReceipt.id)))
