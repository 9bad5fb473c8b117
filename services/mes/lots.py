"""ERP material lots (manufacturing-erp.md §6.9 `POST /api/v1/lot-numbers`): a received quantity of a material gets
its lot number `{material code without separators}-{YYYYMMDD}-{NNN}`, counted per material and receipt date from
the document sequences (gap-free, the sequence row locked until the commit). The expiry date is the body's, else
the receipt date plus the material's shelf life, else none. Never commits."""

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.numbering import next_value
from models.catalog import Material, Supplier
from models.mes.traceability import Lot, MaterialConsumption
from services import audit
from services.catalog.master_data import columns_of
from services.common.guards import field_error

SEPARATORS = re.compile(r"[^A-Za-z0-9]")
CODE_PART_CHARS = 60  # lot numbers are at most 80 characters: code part, date (8), sequence (3+) and two dashes
SEQUENCE_KEY_CHARS = 20  # document_sequences.prefix


@dataclass(frozen=True)
class LotView:
    """A lot as its answers show it: the material it is of, its supplier and how much of it was consumed."""

    id: int
    lot_number: str
    material_id: int
    material_code: str
    material_name: str
    quantity: Decimal
    quantity_consumed: Decimal
    receipt_date: date
    expiry_date: date | None
    supplier_id: int | None
    supplier_name: str | None
    created_at: datetime


def code_part(material: Material) -> str:
    """The material's code without separators (`STL-001` → `STL001`), at most CODE_PART_CHARS characters."""
    return (SEPARATORS.sub("", material.code) or f"M{material.id}")[:CODE_PART_CHARS]


def sequence_key(part: str) -> str:
    """The document-sequence prefix counting the lots of one code part: `LOT:STL001`, or a digest of a long code.
    Two materials whose codes differ only in separators share it, so their lot numbers stay unique."""
    if len(part) + 4 <= SEQUENCE_KEY_CHARS:
        return f"LOT:{part}"
    return "LOT#" + hashlib.sha256(part.encode()).hexdigest()[:SEQUENCE_KEY_CHARS - 4]


def create_lot(session: Session, actor_id: int, values: dict[str, Any]) -> LotView:
    """Receive a lot: an unknown material or supplier is refused naming its field; the number is taken last, so
    the sequence row is held only for the commit."""
    material = session.get(Material, values["material_id"])
    if material is None:
        raise field_error("material_id", f"Material {values['material_id']} not found")
    supplier_id = values.get("supplier_id")
    if supplier_id is not None and session.get(Supplier, supplier_id) is None:
        raise field_error("supplier_id", f"Supplier {supplier_id} not found")
    receipt: date = values["receipt_date"]
    expiry = values.get("expiry_date")
    if expiry is not None and expiry < receipt:
        raise field_error("expiry_date", "expiry_date must not be before receipt_date")
    if expiry is None and material.shelf_life_days:
        expiry = receipt + timedelta(days=material.shelf_life_days)
    part = code_part(material)
    sequence = next_value(session, sequence_key(part), f"{receipt:%Y%m%d}")
    lot = Lot(lot_number=f"{part}-{receipt:%Y%m%d}-{sequence:03d}", material_id=material.id,
              supplier_id=supplier_id, quantity=values["quantity"], receipt_date=receipt, expiry_date=expiry,
              created_by_id=actor_id)
    session.add(lot)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="lot", entity_id=lot.id, action_type="LOT_RECEIVED",
                 payload_diff=audit.created(columns_of(lot)))
    return get_lot(session, lot.lot_number)


def get_lot(session: Session, lot_number: str) -> LotView:
    """The lot by its number (404 for an unknown one), with what was consumed of it."""
    consumed = (select(func.coalesce(func.sum(MaterialConsumption.quantity), 0))
                .where(MaterialConsumption.lot_id == Lot.id).scalar_subquery())
    row = session.execute(
        select(Lot.id, Lot.lot_number, Lot.material_id, Material.code.label("material_code"),
               Material.name.label("material_name"), Lot.quantity, consumed.label("quantity_consumed"),
               Lot.receipt_date, Lot.expiry_date, Lot.supplier_id, Supplier.name.label("supplier_name"),
               Lot.created_at)
        .join(Material, Material.id == Lot.material_id).outerjoin(Supplier, Supplier.id == Lot.supplier_id)
        .where(Lot.lot_number == lot_number)).first()
    if row is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"Lot {lot_number} not found")
    return LotView(**row._asdict())
