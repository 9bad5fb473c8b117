"""Reading deliveries: a location's list (filters of the contract, OPERATOR only at their locations) and one
delivery with its lines, items and NCRs. Never commits."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from models.catalog import Material, Supplier
from models.identity import User
from models.quality import NonConformance
from models.stock import Delivery, DeliveryLine, Location, Period
from services.identity import Principal
from services.stock import documents
from services.stock.access import accessible_location, ensure_location_access
from services.stock.deliveries import delivery_by_uid, lines_of


@dataclass
class DeliveryDetails:
    delivery: Delivery
    location: Location
    supplier: Supplier
    period: Period | None
    lines: list[DeliveryLine]
    ncrs: list[NonConformance]
    items: dict[int, Material]
    users: dict[int, User]


@dataclass(frozen=True)
class DeliveryFilters:
    status: str | None = None
    supplier_uid: str | None = None
    has_variance: bool | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass
class DeliveryPage:
    location: Location
    rows: list[Delivery]
    total: int
    suppliers: dict[int, Supplier]


def get_delivery(session: Session, user: Principal, delivery_uid: str) -> DeliveryDetails:
    delivery = delivery_by_uid(session, delivery_uid)
    ensure_location_access(session, user, delivery.location_id)
    return delivery_details(session, delivery)


def delivery_details(session: Session, delivery: Delivery) -> DeliveryDetails:
    lines = lines_of(session, delivery)
    ncrs = list(session.scalars(select(NonConformance).where(NonConformance.delivery_id == delivery.id)
                                .order_by(NonConformance.id)))
    item_ids = [line.item_id for line in lines] + [n.material_id for n in ncrs]
    location, supplier = session.get(Location, delivery.location_id), session.get(Supplier, delivery.supplier_id)
    assert location is not None and supplier is not None
    period = session.get(Period, delivery.period_id) if delivery.period_id else None
    return DeliveryDetails(delivery, location, supplier, period, lines, ncrs,
                           documents.by_id(session, Material, item_ids),
                           documents.users_by_id(session, [delivery.created_by_id, delivery.posted_by_id]))


def list_deliveries(session: Session, user: Principal, location_uid: str, filters: DeliveryFilters,
                    offset: int, limit: int) -> DeliveryPage:
    location = accessible_location(session, user, location_uid)
    query = (select(Delivery).where(Delivery.location_id == location.id, *_conditions(filters))
             .order_by(Delivery.delivery_date.desc(), Delivery.id.desc()))
    rows, total = documents.page_of(session, query, offset, limit)
    suppliers = documents.by_id(session, Supplier, [row.supplier_id for row in rows])
    return DeliveryPage(location, rows, total, suppliers)


def _conditions(filters: DeliveryFilters) -> list[ColumnElement[bool]]:
    conditions = documents.within_dates(Delivery.delivery_date, filters.start_date, filters.end_date)
    if filters.status is not None:
        conditions.append(Delivery.status == filters.status)
    if filters.supplier_uid is not None:
        conditions.append(_of_supplier(filters.supplier_uid))
    if filters.has_variance is not None:
        conditions.append(Delivery.has_variance.is_(filters.has_variance))
    return conditions


def _of_supplier(supplier_uid: str) -> ColumnElement[bool]:
    try:
        wanted = uuid.UUID(str(supplier_uid))
    except ValueError:
        return false()  # no supplier has that id
    return Delivery.supplier_id.in_(select(Supplier.id).where(Supplier.uid == wanted))
