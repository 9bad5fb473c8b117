"""Suppliers as the stock contract sees them: the one supplier table (`contact_person`, `phone`, `email`
are its contact columns; `is_active` its status). Writes go through the shared supplier service, so the
/api/v1 rules hold here too (unique code, a referenced supplier cannot be deleted), answered in the stock
contract's codes. Never commits."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import AppError
from models.catalog import Supplier
from models.procurement import PurchaseOrder
from models.quality import NonConformance
from models.stock import Delivery
from services.catalog import master_data as catalog
from services.catalog import suppliers
from services.stock.records import by_uid, duplicate_entry, in_use

ACTIVE, INACTIVE = "active", "inactive"
CONTACT_COLUMNS = {"contact_person": "contact_name", "phone": "contact_phone", "email": "contact_email"}
SUPPLIER_USERS = (("deliveries", Delivery.supplier_id), ("purchase_orders", PurchaseOrder.supplier_id),
                  ("non_conformances", NonConformance.supplier_id))


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    columns = {CONTACT_COLUMNS.get(k, k): v for k, v in values.items() if k != "is_active"}
    if values.get("is_active") is not None:
        columns["status"] = ACTIVE if values["is_active"] else INACTIVE
    return columns


@contextmanager
def _stock_codes() -> Iterator[None]:
    """The shared service's duplicate-code answer, in the stock contract's code."""
    try:
        yield
    except AppError as err:
        if err.code == "DUPLICATE_CODE" and isinstance(err.details, dict):
            raise duplicate_entry("Supplier code", "code", err.details.get("value")) from err
        raise


def list_suppliers(session: Session, offset: int, limit: int, search: str | None = None,
                   active: bool | None = None) -> tuple[list[Supplier], int]:
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(catalog.contains(search, Supplier.name, Supplier.code, Supplier.contact_name))
    if active is not None:
        conditions.append(Supplier.status == ACTIVE if active else Supplier.status != ACTIVE)
    query = select(Supplier).where(*conditions)
    rows = session.scalars(query.order_by(Supplier.code, Supplier.id).offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, select(Supplier.id).where(*conditions))


def get_supplier(session: Session, supplier_uid: str) -> Supplier:
    return by_uid(session, Supplier, supplier_uid, "Supplier")


def create_supplier(session: Session, actor_id: int, values: dict[str, Any]) -> Supplier:
    """A supplier created here is `active`: the stock contract has no supplier approval."""
    with _stock_codes():
        return suppliers.create_supplier(session, actor_id, {"status": ACTIVE, **_columns(values)})


def update_supplier(session: Session, actor_id: int, supplier_uid: str, values: dict[str, Any]) -> Supplier:
    supplier = get_supplier(session, supplier_uid)
    with _stock_codes():
        return suppliers.update_supplier(session, actor_id, supplier.id, _columns(values), None)


def delete_supplier(session: Session, actor_id: int, supplier_uid: str) -> None:
    supplier = by_uid(session, Supplier, supplier_uid, "Supplier", lock=True)
    used_by = [table for table, column in SUPPLIER_USERS if catalog.taken(session, column, supplier.id)]
    if used_by:
        raise in_use("SUPPLIER_IN_USE", "Supplier", supplier.code, used_by)
    try:
        suppliers.delete_supplier(session, actor_id, supplier.id)
    except AppError as err:
        if err.code != "SUPPLIER_IN_USE":
            raise
        raise in_use("SUPPLIER_IN_USE", "Supplier", supplier.code, err.details.get("used_by", [])) from err
