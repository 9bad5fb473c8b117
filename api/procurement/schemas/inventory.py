"""Aerospace inventory bodies and answers. Quantities are Decimal inside and JSON numbers on the wire."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from api.contracts.types import DbId
from api.contracts.wire import AerospacePage, Body, Money, UtcDateTime, VersionedBody, WireModel
from models.procurement import Inventory, InventoryTransaction
from services.procurement.inventory import (
    NEEDS_POSITIVE,
    Applied,
    InventoryStatus,
    Movement,
    TransactionType,
    is_expired,
    today,
)

QuantityIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3)]
CostIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=100)]
Place = Annotated[str, Field(min_length=1, max_length=100)]
Bin = Annotated[str, Field(max_length=50)]
Unit = Annotated[str, Field(min_length=1, max_length=20)]
Text = Annotated[str, Field(max_length=4_000)]


class InventoryCreate(Body):
    """`POST /inventory`: receive material into a new stock record."""

    material_id: DbId
    lot_number: Code | None = None
    batch_number: Code | None = None
    serial_number: Code | None = None
    quantity: QuantityIn = Field(gt=0)
    reserved_quantity: QuantityIn = Decimal(0)
    unit_of_measure: Unit | None = None
    status: Literal["available", "reserved", "quarantine"] = "available"
    location: Place | None = None
    bin_number: Bin | None = None
    received_date: date | None = None
    manufacture_date: date | None = None
    expiration_date: date | None = None
    certificate_of_conformance: Code | None = None
    heat_number: Code | None = None
    mill_test_report: Code | None = None
    unit_cost: CostIn | None = None
    notes: Text | None = None
    reference_number: Code | None = None

    @model_validator(mode="after")
    def reserved_within_quantity(self) -> "InventoryCreate":
        if self.reserved_quantity > self.quantity:
            raise ValueError("reserved_quantity cannot exceed quantity")
        return self


class InventoryUpdate(VersionedBody):
    """`PUT /inventory/{id}`. Quantity, material, lot, batch, serial and unit are accepted only unchanged."""

    location: Place | None = None
    bin_number: Bin | None = None
    status: InventoryStatus | None = None
    reserved_quantity: QuantityIn | None = None
    expiration_date: date | None = None
    manufacture_date: date | None = None
    certificate_of_conformance: Code | None = None
    heat_number: Code | None = None
    mill_test_report: Code | None = None
    unit_cost: CostIn | None = None
    notes: Text | None = None
    reason: Text | None = None
    material_id: DbId | None = None
    lot_number: str | None = None
    batch_number: str | None = None
    serial_number: str | None = None
    unit_of_measure: str | None = None
    quantity: Decimal | None = None


class TransactionCreate(VersionedBody):
    """`POST /inventory/{id}/transactions`."""

    inventory_id: DbId | None = None
    transaction_type: TransactionType
    quantity: QuantityIn | None = None
    unit_of_measure: Unit | None = None
    reference_number: Code | None = None
    work_order: Code | None = None
    from_location: Place | None = None
    to_location: Place | None = None
    to_bin_number: Bin | None = None
    reason: Text | None = None
    notes: Text | None = None

    @model_validator(mode="after")
    def per_type(self) -> "TransactionCreate":
        kind = self.transaction_type
        if kind in NEEDS_POSITIVE and (self.quantity is None or self.quantity <= 0):
            raise ValueError(f"a {kind} needs a quantity greater than 0")
        if kind == TransactionType.ADJUSTMENT and self.quantity is None:
            raise ValueError("an adjustment needs the counted quantity")
        if kind == TransactionType.TRANSFER and self.to_location is None:
            raise ValueError("a transfer needs to_location")
        return self

    def movement(self) -> Movement:
        return Movement(**self.model_dump(exclude={"inventory_id", "version"}))


class InventoryOut(WireModel):
    """A stock record: one lot of one material at one location."""

    id: int
    uid: str
    material_id: int
    lot_number: str | None
    batch_number: str | None
    serial_number: str | None
    quantity: Money
    reserved_quantity: Money
    available_quantity: Money
    is_expired: bool
    unit_of_measure: str
    status: str
    location: str | None
    bin_number: str | None
    received_date: date | None
    manufacture_date: date | None
    expiration_date: date | None
    certificate_of_conformance: str | None
    heat_number: str | None
    mill_test_report: str | None
    unit_cost: Money | None
    notes: str | None
    source_key: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


InventoryPage = AerospacePage[InventoryOut]


def inventory_out(inventory: Inventory) -> InventoryOut:
    columns = {c.key: getattr(inventory, c.key) for c in Inventory.__table__.columns}
    return InventoryOut.model_validate({
        **columns, "uid": str(inventory.uid), "available_quantity": inventory.available_quantity,
        "is_expired": is_expired(inventory, today())})


class TransactionOut(WireModel):
    """A row of a stock record's ledger: what moved, and the record's balance after it."""

    id: int
    inventory_id: int
    transaction_type: str
    quantity: Money
    unit_of_measure: str
    reference_number: str | None
    work_order: str | None
    from_location: str | None
    to_location: str | None
    reason: str | None
    notes: str | None
    related_inventory_id: int | None
    performed_by: int | None
    quantity_after: Money
    reserved_after: Money
    available_after: Money
    status_after: str
    location_after: str | None
    created_at: UtcDateTime


TransactionPage = AerospacePage[TransactionOut]


class TransactionAppliedOut(TransactionOut):
    """The ledger row just written, with the record after it."""

    inventory: InventoryOut


class TransferSplitOut(TransactionOut):
    """A partial transfer's ledger row, with the source record after it and the new record the moved part
    became (`new_inventory`)."""

    inventory: InventoryOut
    new_inventory: InventoryOut


def _transaction_values(row: InventoryTransaction) -> dict[str, Any]:
    columns = {c.key: getattr(row, c.key) for c in InventoryTransaction.__table__.columns}
    return {**columns, "available_after": row.quantity_after - row.reserved_after}


def transaction_out(row: InventoryTransaction) -> TransactionOut:
    return TransactionOut.model_validate(_transaction_values(row))


def applied_out(applied: Applied) -> TransactionAppliedOut | TransferSplitOut:
    """The answer of a movement: `new_inventory` only when a partial transfer split the record."""
    values = {**_transaction_values(applied.transaction), "inventory": inventory_out(applied.inventory)}
    if applied.split is None:
        return TransactionAppliedOut.model_validate(values)
    return TransferSplitOut.model_validate({**values, "new_inventory": inventory_out(applied.split)})
