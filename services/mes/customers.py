"""ERP customers (`/api/v1/customers`, an addition the contract's shipments and recalls need): who finished goods
are shipped to, and the contact a recall notifies. Never commits."""

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import AppError
from models.mes.traceability import Customer
from services import audit
from services.catalog import master_data as catalog
from services.catalog.master_data import columns_of


def create_customer(session: Session, actor_id: int, values: dict[str, Any]) -> Customer:
    customer = Customer(name=values["name"], contact_email=values.get("contact_email"),
                        contact_phone=values.get("contact_phone"))
    session.add(customer)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="customer", entity_id=customer.id,
                 action_type="CUSTOMER_CREATED", payload_diff=audit.created(columns_of(customer)))
    return customer


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"Customer {customer_id} not found")
    return customer


def list_customers(session: Session, offset: int, limit: int, search: str | None) -> tuple[list[Customer], int]:
    """A page of customers by id; `search` matches the name or the contact e-mail."""
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(catalog.contains(search, Customer.name, Customer.contact_email))
    query = select(Customer).where(*conditions)
    rows = list(session.scalars(query.order_by(Customer.id).offset(offset).limit(limit)))
    return rows, catalog.count(session, select(Customer.id).where(*conditions))
