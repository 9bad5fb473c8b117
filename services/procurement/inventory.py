"""Aerospace inventory: stock records and their ledger. Never commits: the request (or activity) scope does.

Balances. `quantity` is on hand, `reserved_quantity` is earmarked (0 <= reserved <= quantity, also a
database check), `available_quantity` = quantity - reserved_quantity. Quantities are Decimal with at most
three decimals; nothing is rounded, a value with more decimals is refused.

Status. `quarantine` and `expired` are holds, set explicitly; the other three follow from the balances
whenever a record changes ("settling"): quantity 0 -> `consumed` (even from a hold: nothing is left to
hold); a held record keeps its hold; a lot whose `expiration_date` is before today (UTC) -> `expired`;
available 0 -> `reserved`; otherwise `available`. `is_expired` on the wire is the date test alone.

Every change runs under the record's row lock (SELECT ... FOR UPDATE), bumps its `version`, writes one
ledger row per movement carrying the RESULTING balance (quantity_after, reserved_after, status_after,
location_after), and an audit row, all in the caller's transaction. The ledger is complete: a record's
last ledger row always equals the record.

Transactions (`quantity` > 0 unless said otherwise; `unit_of_measure`, when given, must be the record's):

  receipt     quantity += q. Any status; a consumed record settles afresh, a hold stays.
  return      quantity += q (material back from the floor). As receipt.
  issue       quantity -= q, q <= available (else 400 INSUFFICIENT_STOCK {requested, available}).
              Refused from a quarantined record (409 STOCK_QUARANTINED) and from an expired one, by status
              or by date (409 STOCK_EXPIRED).
  scrap       quantity -= q, q <= available (else 400 INSUFFICIENT_STOCK). Any status: scrapping held or
              expired stock is how it leaves.
  transfer    needs to_location (not the current one). q == quantity: the whole record moves (its
              reservation with it) and its bin becomes `to_bin_number` (none if not given). 0 < q < quantity:
              a split, q <= available (else 400 INSUFFICIENT_STOCK): q leaves this record and a NEW record
              at to_location takes it (same material, lot, batch, heat, dates, certificates, cost, the same
              hold if any, nothing reserved); both get a `transfer` ledger row naming the other in
              `related_inventory_id`. Held and expired stock may move (to an MRB cage, say).
  adjustment  a count: quantity := q (q >= 0); a reservation above the count is cut to the count.
  quarantine  the whole record goes on hold: from available, reserved or expired (else 409
              WORKFLOW_VIOLATION). `quantity`, if given, must be the record's quantity (400 INVALID_QUANTITY:
              transfer the part first).
  release     lifts the hold (quarantine or expired) and the record settles: a lot past its date settles
              to `expired`; lifting `expired` from a lot still past its date is a 409 STOCK_EXPIRED (extend
              expiration_date first). Quantity as for quarantine.

`from_location`, when given on an outgoing movement (all but receipt and return), must be the record's
location (409 LOCATION_MISMATCH: the caller's view is stale); on receipt and return it names where the
stock came from. On receipt and return `to_location`, when given, must be the record's location.

Updates (PUT) change descriptive fields directly (an edited expiration_date does not re-settle the
status: the next movement does, and issue tests the date anyway); balance-relevant fields go through the
ledger: a `reserved_quantity` change is an `adjustment` row with the quantity unchanged (above the quantity:
400 INSUFFICIENT_STOCK), status `quarantine` a `quarantine` row, status `available` on a held record a
`release` row (on an unheld one it changes nothing), status `expired` an `adjustment` row with the quantity
unchanged, a `location` change a whole-record `transfer` row. `reserved` and `consumed` follow from the
balances: asking for them is accepted only when the record already has that status. Quantity, material,
lot, batch, serial and unit are not editable (400 FIELD_NOT_EDITABLE when a PUT sends a different value).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.timeutil import utcnow
from models.catalog import Material
from models.procurement import Inventory, InventoryTransaction
from services import audit
from services.common.queries import given

QUANTUM = Decimal("0.001")
MAX_QUANTITY = Decimal("99999999999.999")  # Numeric(14, 3)
ZERO = Decimal(0)


class InventoryStatus(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    QUARANTINE = "quarantine"
    EXPIRED = "expired"
    CONSUMED = "consumed"


class TransactionType(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    RETURN = "return"
    SCRAP = "scrap"
    QUARANTINE = "quarantine"
    RELEASE = "release"


S, T = InventoryStatus, TransactionType
HOLDS = frozenset({S.QUARANTINE, S.EXPIRED})
INCOMING = frozenset({T.RECEIPT, T.RETURN})
NEEDS_POSITIVE = frozenset({T.RECEIPT, T.RETURN, T.ISSUE, T.SCRAP, T.TRANSFER})
WHOLE_RECORD = frozenset({T.QUARANTINE, T.RELEASE})
SNAPSHOT_FIELDS = ("material_id", "lot_number", "batch_number", "serial_number", "quantity", "reserved_quantity",
                   "unit_of_measure", "status", "location", "bin_number", "received_date", "manufacture_date",
                   "expiration_date", "certificate_of_conformance", "heat_number", "mill_test_report", "unit_cost",
                   "notes", "source_key")
DESCRIPTIVE_FIELDS = ("bin_number", "expiration_date", "manufacture_date", "certificate_of_conformance",
                      "heat_number", "mill_test_report", "unit_cost", "notes")
NOT_EDITABLE = ("material_id", "lot_number", "batch_number", "serial_number", "unit_of_measure", "quantity")
# what a split copies from its source record
LOT_FIELDS = ("material_id", "lot_number", "batch_number", "serial_number", "unit_of_measure", "received_date",
              "manufacture_date", "expiration_date", "certificate_of_conformance", "heat_number", "mill_test_report",
              "unit_cost")


@dataclass(frozen=True)
class Movement:
    """One requested transaction (the body of `POST /inventory/{id}/transactions`)."""

    transaction_type: TransactionType
    quantity: Decimal | None = None
    unit_of_measure: str | None = None
    reference_number: str | None = None
    work_order: str | None = None
    from_location: str | None = None
    to_location: str | None = None
    to_bin_number: str | None = None
    reason: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Applied:
    """A movement's ledger row, the record after it, and the record a split created (if any)."""

    transaction: InventoryTransaction
    inventory: Inventory
    split: Inventory | None = None


def today() -> date:
    return utcnow().date()


def is_expired(inventory: Inventory, on: date | None = None) -> bool:
    return inventory.expiration_date is not None and inventory.expiration_date < (on or today())


def snapshot(inventory: Inventory) -> dict[str, Any]:
    return {field: getattr(inventory, field) for field in SNAPSHOT_FIELDS}


def settle(inventory: Inventory, on: date | None = None) -> None:
    """Set the status that follows from the balances (module docstring), keeping a hold."""
    if inventory.quantity == ZERO:
        inventory.status = S.CONSUMED
    elif inventory.status in HOLDS:
        return
    elif is_expired(inventory, on):
        inventory.status = S.EXPIRED
    elif inventory.quantity - inventory.reserved_quantity == ZERO:
        inventory.status = S.RESERVED
    else:
        inventory.status = S.AVAILABLE


def quantity_of(value: Decimal | float | int | str, field: str = "quantity", positive: bool = True) -> Decimal:
    """A stored quantity: a Decimal with at most three decimals, not negative (positive if asked), in range."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as err:
        raise AppError("INVALID_QUANTITY", 400, f"{field} is not a number", {"field": field}) from err
    if not amount.is_finite() or amount < 0 or amount > MAX_QUANTITY or amount != amount.quantize(QUANTUM) \
            or (positive and amount == 0):
        rule = "greater than 0" if positive else "at least 0"
        raise AppError("INVALID_QUANTITY", 400,
                       f"{field} must be {rule}, at most {MAX_QUANTITY}, with at most 3 decimals",
                       {"field": field, "value": audit.json_safe(amount)})
    return amount.quantize(QUANTUM)


def plain(amount: Decimal) -> str:
    """A quantity for a message: `7`, `60.5`, not `7.000`."""
    return format(amount.normalize(), "f")


def insufficient(requested: Decimal, available: Decimal, inventory_id: int) -> AppError:
    return AppError("INSUFFICIENT_STOCK", 400,
                    f"Requested {plain(requested)} but only {plain(available)} is available in inventory "
                    f"{inventory_id}",
                    audit.json_safe({"requested": requested, "available": available}))


# --- reads ---------------------------------------------------------------------------------------------

def get_inventory(session: Session, inventory_id: int) -> Inventory:
    inventory = session.get(Inventory, inventory_id)
    if inventory is None:
        raise not_found("Inventory", inventory_id)
    return inventory


def list_inventory(session: Session, offset: int, limit: int, *, material_id: int | None = None,
                   status: str | None = None, location: str | None = None, lot_number: str | None = None,
                   expired_only: bool = False) -> tuple[list[Inventory], int]:
    """In id order. `expired_only`: stock on hand that is expired by status or by date."""
    filters = given((material_id, Inventory.material_id == material_id), (status, Inventory.status == status),
                    (location, Inventory.location == location), (lot_number, Inventory.lot_number == lot_number))
    if expired_only:
        filters.append(and_(Inventory.quantity > 0, or_(Inventory.status == S.EXPIRED,
                                                        Inventory.expiration_date < today())))
    total = session.scalar(select(func.count(Inventory.id)).where(*filters)) or 0
    rows = session.scalars(select(Inventory).where(*filters).order_by(Inventory.id).offset(offset).limit(limit))
    return list(rows), int(total)


def list_transactions(session: Session, inventory_id: int, offset: int,
                      limit: int) -> tuple[list[InventoryTransaction], int]:
    """A record's ledger, oldest first."""
    get_inventory(session, inventory_id)
    where = InventoryTransaction.inventory_id == inventory_id
    total = session.scalar(select(func.count(InventoryTransaction.id)).where(where)) or 0
    rows = session.scalars(select(InventoryTransaction).where(where).order_by(InventoryTransaction.id)
                           .offset(offset).limit(limit))
    return list(rows), int(total)


# --- ledger and audit ----------------------------------------------------------------------------------

def write_ledger(session: Session, inventory: Inventory, kind: TransactionType, quantity: Decimal, actor_id: int | None,
            movement: Movement | None = None, *, from_location: str | None = None, to_location: str | None = None,
            related_id: int | None = None, reason: str | None = None,
            reference_number: str | None = None) -> InventoryTransaction:
    """The ledger row of one movement, with the record's balance after it."""
    m = movement or Movement(kind)
    row = InventoryTransaction(
        inventory_id=inventory.id, transaction_type=kind, quantity=quantity, unit_of_measure=inventory.unit_of_measure,
        reference_number=reference_number or m.reference_number, work_order=m.work_order,
        from_location=from_location, to_location=to_location, reason=reason or m.reason, notes=m.notes,
        related_inventory_id=related_id, performed_by=actor_id, quantity_after=inventory.quantity,
        reserved_after=inventory.reserved_quantity, status_after=inventory.status, location_after=inventory.location)
    session.add(row)
    return row


def audit_change(session: Session, actor_id: int | None, inventory: Inventory, action: str, before: dict[str, Any],
           extra: dict[str, Any] | None = None) -> None:
    changes = audit.diff(before, snapshot(inventory))
    for key, value in (extra or {}).items():
        changes[key] = {"old": None, "new": value}
    audit.record(session, actor_id=actor_id, entity_type="inventory", entity_id=inventory.id, action_type=action,
                 payload_diff=changes)


def transaction_note(row: InventoryTransaction) -> dict[str, Any]:
    return {"id": row.id, "transaction_type": row.transaction_type, "quantity": row.quantity,
            "reference_number": row.reference_number, "work_order": row.work_order}


# --- receiving -----------------------------------------------------------------------------------------

def receive(session: Session, *, material_id: int, quantity: Decimal | float | int | str,
            unit_of_measure: str | None = None, lot_number: str | None = None, batch_number: str | None = None,
            heat_number: str | None = None, location: str | None = None, bin_number: str | None = None,
            manufacture_date: date | None = None, expiration_date: date | None = None,
            unit_cost: Decimal | None = None, reference_number: str | None = None, actor_id: int | None = None,
            source_key: str | None = None, serial_number: str | None = None,
            reserved_quantity: Decimal | float | int | str = 0, status: str = S.AVAILABLE,
            received_date: date | None = None, certificate_of_conformance: str | None = None,
            mill_test_report: str | None = None, notes: str | None = None) -> Inventory:
    """A new stock record with its `receipt` ledger row and audit row.

    Idempotent by `source_key` (a business key of the document line the stock came from, e.g.
    `grn-line:42`): a second call with the same key returns the record the first one created and writes
    nothing, even when both race (INSERT ... ON CONFLICT DO NOTHING waits for the other insert's outcome).
    `status` may be `available` (the default; the record then settles, e.g. to `reserved` when everything is
    reserved or `expired` when received past its date), `reserved` (the same) or `quarantine` (a hold, for
    receiving into inspection). The unit defaults to the material's.
    """
    amount = quantity_of(quantity)
    reserved = quantity_of(reserved_quantity, "reserved_quantity", positive=False)
    if reserved > amount:
        raise AppError("INVALID_QUANTITY", 400, "reserved_quantity cannot exceed quantity", audit.json_safe(
            {"field": "reserved_quantity", "quantity": amount, "reserved_quantity": reserved}))
    if status not in (S.AVAILABLE, S.RESERVED, S.QUARANTINE):
        raise AppError("INVALID_STATUS", 400, f"Stock cannot be received as {status}",
                       {"field": "status", "allowed": [S.AVAILABLE, S.RESERVED, S.QUARANTINE]})
    if source_key is not None:
        existing = session.scalars(select(Inventory).where(Inventory.source_key == source_key)).first()
        if existing is not None:
            return existing
    material = session.get(Material, material_id)
    if material is None:
        raise not_found("Material", material_id)

    record = Inventory(
        material_id=material_id, lot_number=lot_number, batch_number=batch_number, serial_number=serial_number,
        quantity=amount, reserved_quantity=reserved, unit_of_measure=unit_of_measure or material.unit_of_measure,
        status=S.QUARANTINE if status == S.QUARANTINE else S.AVAILABLE, location=location, bin_number=bin_number,
        received_date=received_date or today(), manufacture_date=manufacture_date, expiration_date=expiration_date,
        certificate_of_conformance=certificate_of_conformance, heat_number=heat_number,
        mill_test_report=mill_test_report, unit_cost=unit_cost, notes=notes, source_key=source_key, version=1)
    settle(record)
    if source_key is None:
        session.add(record)
        session.flush()
    else:
        values = {c.key: getattr(record, c.key) for c in Inventory.__table__.columns
                  if c.key not in ("id", "created_at", "updated_at") and getattr(record, c.key) is not None}
        claimed = session.scalars(pg_insert(Inventory).values(**values)
                                  .on_conflict_do_nothing(index_elements=[Inventory.source_key])
                                  .returning(Inventory)).first()
        if claimed is None:  # a concurrent call with the same key committed first
            return session.scalars(select(Inventory).where(Inventory.source_key == source_key)
                                   .execution_options(populate_existing=True)).one()
        record = claimed
    row = write_ledger(session, record, T.RECEIPT, amount, actor_id, to_location=record.location,
                  reference_number=reference_number, reason="received")
    session.flush()
    audit_change(session, actor_id, record, "INVENTORY_CREATED", {}, {"transaction": transaction_note(row)})
    return record
