"""Stock movements: the eight transaction types and PUT updates of a record (rules: services/procurement/inventory.py).
Never commits."""

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.errors import AppError, workflow_violation
from models.procurement import Inventory, InventoryTransaction
from services import audit
from services.common.guards import check_version, locked, require_status
from services.procurement.inventory import (
    DESCRIPTIVE_FIELDS,
    HOLDS,
    INCOMING,
    LOT_FIELDS,
    MAX_QUANTITY,
    NEEDS_POSITIVE,
    NOT_EDITABLE,
    WHOLE_RECORD,
    ZERO,
    Applied,
    InventoryStatus,
    Movement,
    S,
    T,
    TransactionType,
    audit_change,
    insufficient,
    is_expired,
    plain,
    quantity_of,
    settle,
    snapshot,
    transaction_note,
    write_ledger,
)


def _check_place(inventory: Inventory, movement: Movement) -> None:
    kind = movement.transaction_type
    stated, field = ((movement.to_location, "to_location") if kind in INCOMING
                     else (movement.from_location, "from_location"))
    if stated is not None and stated != inventory.location:
        raise AppError("LOCATION_MISMATCH", 409,
                       f"Inventory {inventory.id} is at {inventory.location}, not at {stated}",
                       {"field": field, "given": stated, "location": inventory.location})


def _check_unit(inventory: Inventory, unit: str | None) -> None:
    if unit is not None and unit.strip().lower() != inventory.unit_of_measure.lower():
        raise AppError("UNIT_MISMATCH", 400,
                       f"Inventory {inventory.id} is kept in {inventory.unit_of_measure}, not {unit}",
                       {"field": "unit_of_measure", "given": unit, "unit_of_measure": inventory.unit_of_measure})


def _whole_record_quantity(inventory: Inventory, movement: Movement) -> Decimal:
    if movement.quantity is not None and quantity_of(movement.quantity, positive=False) != inventory.quantity:
        raise AppError("INVALID_QUANTITY", 400,
                       f"A {movement.transaction_type} applies to the whole record ({plain(inventory.quantity)}); "
                       "transfer the part to its own record first",
                       audit.json_safe({"field": "quantity", "given": movement.quantity,
                                        "quantity": inventory.quantity}))
    return inventory.quantity


def _check_issuable(inventory: Inventory) -> None:
    if inventory.status == S.QUARANTINE:
        raise AppError("STOCK_QUARANTINED", 409, f"Inventory {inventory.id} is in quarantine and cannot be issued",
                       {"id": inventory.id, "status": inventory.status})
    if inventory.status == S.EXPIRED or is_expired(inventory):
        raise AppError("STOCK_EXPIRED", 409, f"Inventory {inventory.id} is expired and cannot be issued",
                       audit.json_safe({"id": inventory.id, "status": inventory.status,
                                        "expiration_date": inventory.expiration_date}))


def _take(inventory: Inventory, amount: Decimal) -> None:
    available = inventory.quantity - inventory.reserved_quantity
    if amount > available:
        raise insufficient(amount, available, inventory.id)
    inventory.quantity -= amount


def _add(inventory: Inventory, amount: Decimal) -> None:
    if inventory.quantity + amount > MAX_QUANTITY:
        raise AppError("INVALID_QUANTITY", 400, f"Inventory {inventory.id} would exceed {MAX_QUANTITY}",
                       {"field": "quantity"})
    inventory.quantity += amount


def _release(inventory: Inventory) -> None:
    require_status(inventory, [S.QUARANTINE, S.EXPIRED], "Inventory", "release")
    if inventory.status == S.EXPIRED and is_expired(inventory):
        raise AppError("STOCK_EXPIRED", 409,
                       f"Inventory {inventory.id} is past its expiration date; extend expiration_date first",
                       audit.json_safe({"id": inventory.id, "expiration_date": inventory.expiration_date}))
    inventory.status = S.AVAILABLE
    settle(inventory)


def _quarantine(inventory: Inventory) -> None:
    require_status(inventory, [S.AVAILABLE, S.RESERVED, S.EXPIRED], "Inventory", "quarantine")
    inventory.status = S.QUARANTINE


def _split(session: Session, source: Inventory, amount: Decimal, movement: Movement) -> Inventory:
    """Move `amount` of `source` into a new record at the movement's destination."""
    _take(source, amount)
    part = Inventory(**{f: getattr(source, f) for f in LOT_FIELDS}, quantity=amount, reserved_quantity=ZERO,
                     status=source.status if source.status in HOLDS else S.AVAILABLE,
                     location=movement.to_location, bin_number=movement.to_bin_number, version=1,
                     notes=f"Split from inventory {source.id}")
    settle(part)
    session.add(part)
    session.flush()
    return part


def apply_transaction(session: Session, inventory_id: int, movement: Movement, actor_id: int | None,
                      expected_version: int | None = None) -> Applied:
    """Apply one movement under the record's row lock (rules: module docstring)."""
    kind = TransactionType(movement.transaction_type)
    inventory = locked(session, Inventory, inventory_id, "Inventory")
    check_version(inventory, expected_version, "Inventory")
    _check_unit(inventory, movement.unit_of_measure)
    _check_place(inventory, movement)
    before = snapshot(inventory)
    origin = inventory.location
    amount: Decimal
    if kind in WHOLE_RECORD:
        amount = _whole_record_quantity(inventory, movement)
    elif movement.quantity is None:
        raise AppError("INVALID_QUANTITY", 400, f"A {kind} needs a quantity", {"field": "quantity"})
    else:
        amount = quantity_of(movement.quantity, positive=kind in NEEDS_POSITIVE)

    split: Inventory | None = None
    from_location, to_location = origin, movement.to_location
    if kind in INCOMING:
        _add(inventory, amount)
        from_location, to_location = movement.from_location, origin
    elif kind == T.ISSUE:
        _check_issuable(inventory)
        _take(inventory, amount)
    elif kind == T.SCRAP:
        _take(inventory, amount)
    elif kind == T.ADJUSTMENT:
        inventory.quantity = amount
        inventory.reserved_quantity = min(inventory.reserved_quantity, amount)
    elif kind == T.QUARANTINE:
        _quarantine(inventory)
    elif kind == T.RELEASE:
        _release(inventory)
    elif kind == T.TRANSFER:
        if not movement.to_location:
            raise AppError("INVALID_TRANSFER", 400, "A transfer needs to_location", {"field": "to_location"})
        if movement.to_location == origin:
            raise AppError("INVALID_TRANSFER", 400, f"Inventory {inventory.id} is already at {origin}",
                           {"field": "to_location"})
        if amount == inventory.quantity:
            inventory.location, inventory.bin_number = movement.to_location, movement.to_bin_number
        else:
            split = _split(session, inventory, amount, movement)
    settle(inventory)
    inventory.version += 1

    row = write_ledger(session, inventory, kind, amount, actor_id, movement, from_location=from_location,
                  to_location=to_location, related_id=split.id if split else None)
    extra: dict[str, Any] = {}
    if split is not None:
        split_row = write_ledger(session, split, kind, amount, actor_id, movement, from_location=origin,
                            to_location=split.location, related_id=inventory.id)
        session.flush()
        audit_change(session, actor_id, split, "INVENTORY_CREATED", {},
               {"split_from": inventory.id, "transaction": transaction_note(split_row)})
        extra["split_to"] = split.id
    session.flush()  # ids, and `updated_at` for the answer
    audit_change(session, actor_id, inventory, f"INVENTORY_{kind.upper()}", before,
           {"transaction": transaction_note(row), **extra})
    return Applied(row, inventory, split)


# --- updates -------------------------------------------------------------------------------------------

def update_inventory(session: Session, inventory_id: int, changes: dict[str, Any], actor_id: int | None,
                     expected_version: int | None = None) -> Inventory:
    """Apply a PUT (rules: module docstring). Explicit nulls clear descriptive fields and are ignored for
    location, status and reserved_quantity."""
    inventory = locked(session, Inventory, inventory_id, "Inventory")
    check_version(inventory, expected_version, "Inventory")
    for field in NOT_EDITABLE:
        value = changes.get(field)
        if value is not None and value != getattr(inventory, field):
            hint = "; use a transaction" if field == "quantity" else ""
            raise AppError("FIELD_NOT_EDITABLE", 400, f"{field} cannot be changed by an update{hint}",
                           {"field": field})
    before = snapshot(inventory)
    reason = changes.get("reason")
    rows: list[InventoryTransaction] = []

    for field in DESCRIPTIVE_FIELDS:
        if field in changes:
            setattr(inventory, field, changes[field])

    reserved = changes.get("reserved_quantity")
    if reserved is not None:
        reserved = quantity_of(reserved, "reserved_quantity", positive=False)
        if reserved > inventory.quantity:
            raise insufficient(reserved, inventory.quantity, inventory.id)
        if reserved != inventory.reserved_quantity:
            inventory.reserved_quantity = reserved
            settle(inventory)
            rows.append(write_ledger(session, inventory, T.ADJUSTMENT, inventory.quantity, actor_id,
                                reason=reason or "reserved quantity set by update"))

    status = changes.get("status")
    if status is not None and status != inventory.status:
        status_row = _change_status(session, inventory, InventoryStatus(status), actor_id, reason)
        if status_row is not None:
            rows.append(status_row)

    location = changes.get("location")
    if location is not None and location != inventory.location:
        origin, inventory.location = inventory.location, location
        rows.append(write_ledger(session, inventory, T.TRANSFER, inventory.quantity, actor_id, from_location=origin,
                            to_location=location, reason=reason or "location changed by update"))

    after = snapshot(inventory)
    if after == before:
        return inventory
    inventory.version += 1
    session.flush()
    audit_change(session, actor_id, inventory, "INVENTORY_UPDATED", before,
           {"transactions": [transaction_note(r) for r in rows]} if rows else None)
    return inventory


def _change_status(session: Session, inventory: Inventory, target: InventoryStatus, actor_id: int | None,
                   reason: str | None) -> InventoryTransaction | None:
    """The ledger row of a status change asked for by an update; None when it changes nothing."""
    if target == S.QUARANTINE:
        _quarantine(inventory)
        kind = T.QUARANTINE
    elif target == S.AVAILABLE:
        if inventory.status not in HOLDS:
            return None
        _release(inventory)
        kind = T.RELEASE
    elif target == S.EXPIRED:
        require_status(inventory, [S.AVAILABLE, S.RESERVED, S.QUARANTINE], "Inventory", "expire")
        inventory.status = S.EXPIRED
        kind = T.ADJUSTMENT
    else:
        raise workflow_violation(f"Status {target} follows from the quantities of inventory {inventory.id} "
                                 f"(now {inventory.status}); change reserved_quantity or post a transaction",
                                 {"id": inventory.id, "status": inventory.status, "requested": target})
    return write_ledger(session, inventory, kind, inventory.quantity, actor_id,
                   reason=reason or f"status set to {inventory.status} by update")
