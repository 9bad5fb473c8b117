"""The stock maths of services/stock/ledger.py: rounding and weighted average cost as pure functions, then
`apply()` on the real database (ledger rows and their balances, all or none, idempotent by source key)."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import AppError
from models.stock import LocationStock, StockMovement
from services.stock.ledger import Movement, apply, cost, current_wac, line_value, money, weighted_average
from tests.stock.helpers import Ref, seed_item, seed_location

D = Decimal


# --- pure functions --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "cents"), [
    ("2.345", "2.35"), ("2.344999", "2.34"), ("-2.345", "-2.35"), ("0.005", "0.01"), ("0.0049", "0.00"),
    ("395.25", "395.25"), ("1E+3", "1000.00"),
])
def test_money_rounds_half_up_to_cents(value, cents):
    assert money(D(value)) == D(cents) and money(D(value)).as_tuple().exponent == -2


@pytest.mark.parametrize(("value", "rounded"), [
    ("5.72404761", "5.7240"), ("1.00005", "1.0001"), ("1.00004999", "1.0000"), ("25.5", "25.5000"),
])
def test_cost_rounds_half_up_to_four_decimals(value, rounded):
    assert cost(D(value)) == D(rounded)


@pytest.mark.parametrize(("quantity", "unit_cost", "value"), [
    ("15.5", "25.5", "395.25"),    # the contract's issue
    ("100", "26", "2600.00"),      # the contract's delivery
    ("2.5", "5.275", "13.19"),     # 13.1875
    ("2.5", "4.99", "12.48"),      # 12.475: half-up, not banker's
    ("7.125", "3.2", "22.80"),
    ("-2.5", "4.99", "-12.48"),    # a signed (outbound) value rounds away from zero as well
    ("0.001", "0.0049", "0.00"),
])
def test_line_value_is_quantity_times_cost_in_cents(quantity, unit_cost, value):
    assert line_value(D(quantity), D(unit_cost)) == D(value)


@pytest.mark.parametrize(("on_hand", "wac", "quantity", "price", "expected", "arithmetic"), [
    ("100", "25", "100", "26", "25.5", "(100·25 + 100·26) / 200 = 5100 / 200"),
    ("0", "0", "10", "4", "4", "an empty location takes the price"),
    ("0", "99", "5", "3", "3", "an old WAC at zero stock does not count"),
    ("10", "4", "5", "7", "5", "(40 + 35) / 15"),
    ("9.5", "5.275", "1", "9.99", "5.7240", "60.1025 / 10.5 = 5.724047…"),
    ("1", "1", "2", "2", "1.6667", "5 / 3 = 1.66666…"),
    ("10", "5", "10", "0", "2.5", "free goods dilute: 50 / 20"),
    ("0.001", "1000", "0.002", "1", "334", "(0.001·1000 + 0.002·1) / 0.003 = 1.002 / 0.003"),
    ("3", "1.3333", "0.5", "2", "1.4285", "(3.9999 + 1) / 3.5 = 1.428542… (the WAC keeps its own rounding)"),
])
def test_weighted_average(on_hand, wac, quantity, price, expected, arithmetic):
    assert weighted_average(D(on_hand), D(wac), D(quantity), D(price)) == D(expected), arithmetic


# --- apply() on the database -----------------------------------------------------------------------------------

DAY = date(2299, 3, 1)


def movement(location: Ref, item: Ref, kind: str, quantity: str, unit_cost: str | None = None,
             key: str | None = None) -> Movement:
    return Movement(location_id=location.id, item_id=item.id, movement_type=kind, quantity=D(quantity),
                    movement_date=DAY, source_key=key or f"test:{uuid.uuid4()}",
                    unit_cost=D(unit_cost) if unit_cost is not None else None)


def applied(factory: Any, *movements: Movement) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    """Apply in one transaction; (type, signed quantity, value, balance, balance WAC) of each ledger row."""
    with session_scope(factory) as session:
        rows = apply(session, list(movements))
        return [(r.movement_type, r.quantity, r.value, r.balance_on_hand, r.balance_wac) for r in rows]


def stock(factory: Any, location: Ref, item: Ref) -> tuple[Decimal, Decimal] | None:
    with session_scope(factory) as session:
        row = session.scalars(select(LocationStock).where(LocationStock.location_id == location.id,
                                                          LocationStock.item_id == item.id)).first()
        return (row.on_hand, row.wac) if row else None


def ledger_count(factory: Any, location: Ref) -> int:
    with session_scope(factory) as session:
        return len(session.scalars(select(StockMovement.id).where(StockMovement.location_id == location.id)).all())


@pytest.fixture
def place(session_factory: Any) -> tuple[Ref, Ref]:
    return seed_location(session_factory), seed_item(session_factory)


def test_receipts_and_issues_write_the_ledger_with_balances(session_factory, place):
    loc, item = place
    assert applied(session_factory, movement(loc, item, "RECEIPT", "100", "25"),
                   movement(loc, item, "RECEIPT", "100", "26"),
                   movement(loc, item, "ISSUE", "15.5"),
                   movement(loc, item, "TRANSFER_OUT", "4.5")) == [
        ("RECEIPT", D(100), D("2500.00"), D(100), D(25)),
        ("RECEIPT", D(100), D("2600.00"), D(200), D("25.5")),      # (2500 + 2600) / 200
        ("ISSUE", D("-15.5"), D("-395.25"), D("184.5"), D("25.5")),  # leaves at the WAC, which stays
        ("TRANSFER_OUT", D("-4.5"), D("-114.75"), D(180), D("25.5")),
    ]
    assert stock(session_factory, loc, item) == (D(180), D("25.5"))
    with session_scope(session_factory) as session:
        assert current_wac(session, loc.id, item.id) == D("25.5")
        assert current_wac(session, loc.id, seed_item(session_factory).id) == 0


def test_emptied_stock_takes_the_next_receipts_price(session_factory, place):
    loc, item = place
    applied(session_factory, movement(loc, item, "OPENING", "3", "10"), movement(loc, item, "ISSUE", "3"))
    assert stock(session_factory, loc, item) == (D(0), D(10))
    assert applied(session_factory, movement(loc, item, "TRANSFER_IN", "2", "7.5")) == [
        ("TRANSFER_IN", D(2), D("15.00"), D(2), D("7.5"))]


def test_a_movement_is_applied_once_per_source_key(session_factory, place):
    loc, item = place
    first = applied(session_factory, movement(loc, item, "RECEIPT", "10", "4", key=f"retry:{uuid.uuid4()}"))
    key = f"retry:{uuid.uuid4()}"
    once = applied(session_factory, movement(loc, item, "ISSUE", "3", key=key))
    again = applied(session_factory, movement(loc, item, "ISSUE", "3", key=key))  # a retried activity
    assert once == again == [("ISSUE", D(-3), D("-12.00"), D(7), D(4))]
    assert first[0][3] == D(10) and stock(session_factory, loc, item) == (D(7), D(4))
    assert ledger_count(session_factory, loc) == 2


def test_a_shortage_applies_nothing(session_factory, place):
    loc, item = place
    other = seed_item(session_factory, name="Rice")
    applied(session_factory, movement(loc, item, "RECEIPT", "5", "2"))
    with pytest.raises(AppError) as refused:
        applied(session_factory, movement(loc, item, "ISSUE", "4"), movement(loc, other, "RECEIPT", "9", "1"),
                movement(loc, item, "ISSUE", "1.5"))
    assert refused.value.code == "INSUFFICIENT_STOCK" and refused.value.status == 400
    assert {k: refused.value.details[k] for k in ("item", "requested", "available", "location")} == {
        "item": "Chicken Breast", "requested": 1.5, "available": 1.0, "location": loc.code}
    assert stock(session_factory, loc, item) == (D(5), D(2))
    assert stock(session_factory, loc, other) is None and ledger_count(session_factory, loc) == 1


@pytest.mark.parametrize(("kind", "quantity", "unit_cost"), [
    ("ISSUE", "0", None), ("RECEIPT", "-1", "2"), ("RECEIPT", "1", None), ("RECEIPT", "1", "-0.01"),
])
def test_invalid_movements_are_refused(session_factory, place, kind, quantity, unit_cost):
    loc, item = place
    with pytest.raises(AppError) as refused:
        applied(session_factory, movement(loc, item, kind, quantity, unit_cost))
    assert refused.value.code == "VALIDATION_ERROR" and refused.value.status == 400
    assert ledger_count(session_factory, loc) == 0
