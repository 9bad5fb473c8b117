"""Builders for stock-contract tests: locations, items, suppliers and periods straight in the database.

Periods are global and may not overlap, so every test takes its own month (`fresh_month`) from a
counter far from today's dates; locations, items and suppliers get unique codes."""

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.db import session_scope
from core.timeutil import utcnow
from models.catalog import Material, MaterialCategory, Supplier
from models.stock import Location, LocationStock, LocationUser, Period, PeriodLocation, PeriodPrice
from services.stock import ledger as stock_ledger
from services.stock.ledger import Movement
from tests.conftest import unique

_months = itertools.count(0)


def fresh_month() -> tuple[date, date]:
    """A calendar month no other test of this session uses (from January 2300 on)."""
    n = next(_months)
    start = date(2300 + n // 12, n % 12 + 1, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start, end


@dataclass
class Ref:
    id: int
    uid: str
    code: str


def seed_location(factory: Any, type: str = "KITCHEN", name: str = "Kitchen") -> Ref:
    with session_scope(factory) as session:
        location = Location(code=unique("LOC").upper(), name=name, type=type)
        session.add(location)
        session.flush()
        return Ref(location.id, str(location.uid), location.code)


def category_id(session: Any, code: str) -> int:
    found = session.query(MaterialCategory).filter_by(code=code).first()
    if found is None:
        found = MaterialCategory(code=code, name=code.title())
        session.add(found)
        session.flush()
    return int(found.id)


def seed_item(factory: Any, name: str = "Chicken Breast", unit: str = "KG", category: str = "PROTEINS") -> Ref:
    with session_scope(factory) as session:
        item = Material(code=unique("PRO").upper(), name=name, unit_of_measure=unit, material_type="other",
                        category_id=category_id(session, category), status="active")
        session.add(item)
        session.flush()
        return Ref(item.id, str(item.uid), item.code)


def seed_supplier(factory: Any, name: str = "Fresh Foods Co.") -> Ref:
    with session_scope(factory) as session:
        supplier = Supplier(code=unique("SUP").upper(), name=name, status="active")
        session.add(supplier)
        session.flush()
        return Ref(supplier.id, str(supplier.uid), supplier.code)


@dataclass
class PeriodRef:
    id: int
    uid: str
    start: date
    end: date

    def day(self, n: int = 1) -> str:
        """The ISO date of day `n` of the period."""
        return self.date(n).isoformat()

    def date(self, n: int = 1) -> date:
        return self.start + timedelta(days=n - 1)


def seed_period(factory: Any, status: str = "OPEN", locations: list[Ref] | None = None,
                prices: dict[int, Decimal] | None = None) -> PeriodRef:
    start, end = fresh_month()
    with session_scope(factory) as session:
        period = Period(name=f"{start:%b %Y} {uuid.uuid4().hex[:6]}", start_date=start, end_date=end, status=status,
                        opened_at=utcnow() if status == "OPEN" else None)
        session.add(period)
        session.flush()
        for location in locations or []:
            session.add(PeriodLocation(period_id=period.id, location_id=location.id))
        for item_id, price in (prices or {}).items():
            session.add(PeriodPrice(period_id=period.id, item_id=item_id, price=price))
        session.flush()
        return PeriodRef(period.id, str(period.uid), start, end)


def assign(factory: Any, user_id: int, *locations: Ref) -> None:
    with session_scope(factory) as session:
        for location in locations:
            session.add(LocationUser(user_id=user_id, location_id=location.id))


def seed_stock(factory: Any, location: Ref, item: Ref, quantity: str, unit_cost: str, on: date) -> None:
    """Opening stock straight into the ledger (as a roll-forward or a migration would)."""
    with session_scope(factory) as session:
        stock_ledger.apply(session, [Movement(location_id=location.id, item_id=item.id, movement_type="OPENING",
                                              quantity=Decimal(quantity), unit_cost=Decimal(unit_cost),
                                              movement_date=on, source_key=f"seed:{uuid.uuid4()}")])


def stock_of(factory: Any, location: Ref, item: Ref) -> tuple[Decimal, Decimal]:
    """(on_hand, wac) of an item at a location."""
    with session_scope(factory) as session:
        row = session.query(LocationStock).filter_by(location_id=location.id, item_id=item.id).first()
        return (row.on_hand, row.wac) if row else (Decimal(0), Decimal(0))
