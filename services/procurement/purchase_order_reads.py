"""Reading purchase orders: the body the contract shows (one PO or a page of them, their suppliers and lines
read with one query each), the list's search and the summary. The writes are in
services/procurement/purchase_orders.py."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dto.procurement import PoStatus
from models.catalog import Supplier
from models.procurement import PurchaseOrder, PurchaseOrderLine
from services import audit
from services.common.queries import given

# How a column's value goes on the wire, by its exact type (what audit.json_safe does, looked up once per value
# instead of tested type by type: a page of 20 POs renders about 2,000 values).
_AS_IS = frozenset({int, str, bool, float, type(None)})
_WIRE: dict[type, Callable[[Any], Any]] = {Decimal: float, datetime: datetime.isoformat, date: date.isoformat,
                                           uuid.UUID: str}


def plain(row: Any, columns: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column in columns:
        value = getattr(row, column.key)
        kind = type(value)
        if kind in _AS_IS:
            data[column.key] = value
        else:
            convert = _WIRE.get(kind)
            data[column.key] = convert(value) if convert is not None else audit.json_safe(value)
    return data


def render(session: Session, po: PurchaseOrder) -> dict[str, Any]:
    """The PO as the contract shows it, JSON-ready (numbers as numbers, dates ISO, times with Z)."""
    return render_many(session, [po])[0]


def render_many(session: Session, pos: list[PurchaseOrder]) -> list[dict[str, Any]]:
    """A page of POs: their suppliers and lines read with one query each, whatever the page size."""
    supplier_ids = {po.supplier_id for po in pos}
    suppliers = {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(supplier_ids)))}
    lines: dict[int, list[PurchaseOrderLine]] = {po.id: [] for po in pos}
    for line in session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id.in_(lines))
                                .order_by(PurchaseOrderLine.purchase_order_id, PurchaseOrderLine.line_number)):
        lines[line.purchase_order_id].append(line)
    return [_body(po, suppliers.get(po.supplier_id), lines[po.id]) for po in pos]


def _body(po: PurchaseOrder, supplier: Supplier | None, lines: list[PurchaseOrderLine]) -> dict[str, Any]:
    data = plain(po, PurchaseOrder.__table__.columns)
    del data["workflow_type"]  # how its lifecycle runs: for the API, not the contract
    data["uid"] = str(po.uid)
    for key in ("created_at", "updated_at", "approved_at", "ordered_at"):
        value = getattr(po, key)
        data[key] = value.isoformat().replace("+00:00", "Z") if value else None
    data["supplier_name"] = supplier.name if supplier else None
    data["line_items"] = [plain(line, PurchaseOrderLine.__table__.columns) for line in lines]
    for line in data["line_items"]:
        line.pop("uid", None)
        for key in ("created_at", "updated_at"):
            line[key] = str(line[key]).replace("+00:00", "Z")
    return data


def summary(session: Session) -> dict[str, Any]:
    counts = dict(session.execute(select(PurchaseOrder.status, func.count()).group_by(PurchaseOrder.status)).all())
    total_value = session.scalar(select(func.coalesce(func.sum(PurchaseOrder.total_amount), 0))
                                 .where(PurchaseOrder.status != PoStatus.CANCELLED))
    pending_value = session.scalar(select(func.coalesce(func.sum(PurchaseOrder.total_amount), 0))
                                   .where(PurchaseOrder.status == PoStatus.PENDING_APPROVAL))
    received = counts.get("received", 0) + counts.get("partially_received", 0)
    return {"total_pos": sum(counts.values()), "draft_count": counts.get("draft", 0),
            "pending_approval_count": counts.get("pending_approval", 0), "approved_count": counts.get("approved", 0),
            "ordered_count": counts.get("ordered", 0), "received_count": received,
            "cancelled_count": counts.get("cancelled", 0), "total_value": float(total_value or 0),
            "pending_value": float(pending_value or 0)}


def search(session: Session, offset: int, limit: int, *, status: str | None, priority: str | None,
           supplier_id: int | None, from_date: date | None, to_date: date | None,
           text: str | None) -> tuple[list[PurchaseOrder], int]:
    filters = given((status, PurchaseOrder.status == status), (priority, PurchaseOrder.priority == priority),
                    (supplier_id, PurchaseOrder.supplier_id == supplier_id))
    if from_date is not None:
        filters.append(PurchaseOrder.po_date >= from_date)
    if to_date is not None:
        filters.append(PurchaseOrder.po_date <= to_date)
    if text:
        pattern = f"%{text}%"
        filters.append(or_(PurchaseOrder.po_number.ilike(pattern), PurchaseOrder.requisition_number.ilike(pattern)))
    total = session.scalar(select(func.count(PurchaseOrder.id)).where(*filters)) or 0
    rows = session.scalars(select(PurchaseOrder).where(*filters).order_by(PurchaseOrder.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), int(total)


