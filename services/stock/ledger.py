"""Stock maths per location and item: weighted average cost, movements under a row lock, the ledger.

Rules (README "Stock maths"):
- a receipt (delivery line, transfer in, opening) sets `wac = (on_hand·wac + qty·price) / (on_hand + qty)`,
  rounded half-up to 4 decimals; an issue or transfer out leaves at the current WAC and keeps it;
- a movement's value is `qty × cost` rounded half-up to cents;
- stock never goes negative: taking more than `on_hand` is 400 `INSUFFICIENT_STOCK`, checked under
  the stock row's lock in the same transaction as the movement;
- every movement is one ledger row with the resulting balance; a movement is keyed by `source_key`,
  so applying it again (a retried activity) changes nothing.
Rows are locked in (location, item) order, so concurrent multi-line documents cannot deadlock.
Never commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AppError
from models.catalog import Material
from models.stock import Location, LocationStock, StockMovement

CENT = Decimal("0.01")
COST_PLACES = Decimal("0.0001")
QUANTITY_PLACES = Decimal("0.001")
INBOUND = ("OPENING", "RECEIPT", "TRANSFER_IN")
OUTBOUND = ("ISSUE", "TRANSFER_OUT")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cost(value: Decimal) -> Decimal:
    return value.quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def line_value(quantity: Decimal, unit_cost: Decimal) -> Decimal:
    return money(quantity * unit_cost)


def weighted_average(on_hand: Decimal, wac: Decimal, quantity: Decimal, price: Decimal) -> Decimal:
    """The WAC after receiving `quantity` at `price` into `on_hand` valued at `wac`."""
    total = on_hand + quantity
    if total <= 0:
        return cost(price)
    return cost((on_hand * wac + quantity * price) / total)


@dataclass(frozen=True)
class Movement:
    """One change to apply: `quantity` is positive; the type says which way it goes."""

    location_id: int
    item_id: int
    movement_type: str
    quantity: Decimal
    movement_date: date
    source_key: str
    unit_cost: Decimal | None = None  # required inbound; outbound leaves at the current WAC
    period_id: int | None = None
    source_type: str | None = None
    source_id: int | None = None
    actor_id: int | None = None


def lock_stock(session: Session, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], LocationStock]:
    """The stock rows of (location, item) pairs, created when missing, locked in a fixed order."""
    wanted = sorted(set(pairs))
    if wanted:
        session.execute(insert(LocationStock).values(
            [{"location_id": loc, "item_id": item} for loc, item in wanted]).on_conflict_do_nothing())
    rows: dict[tuple[int, int], LocationStock] = {}
    for loc, item in wanted:  # one by one, in order: the order is the deadlock guard
        row = session.scalars(select(LocationStock).where(LocationStock.location_id == loc,
                                                          LocationStock.item_id == item)
                              .with_for_update().execution_options(populate_existing=True)).one()
        rows[(loc, item)] = row
    return rows


def apply(session: Session, movements: list[Movement]) -> list[StockMovement]:
    """Apply movements in one transaction: all of them or (on a shortage) none."""
    known = _already_applied(session, [m.source_key for m in movements])
    todo = [m for m in movements if m.source_key not in known]
    rows = lock_stock(session, [(m.location_id, m.item_id) for m in todo])
    written = [_apply_one(session, rows[(m.location_id, m.item_id)], m) for m in todo]
    session.flush()
    by_key = {**known, **{w.source_key: w for w in written}}
    return [by_key[m.source_key] for m in movements]


def _already_applied(session: Session, keys: list[str]) -> dict[str, StockMovement]:
    if not keys:
        return {}
    found = session.scalars(select(StockMovement).where(StockMovement.source_key.in_(keys)))
    return {row.source_key: row for row in found}


def _apply_one(session: Session, stock: LocationStock, m: Movement) -> StockMovement:
    if m.quantity <= 0:
        raise AppError("VALIDATION_ERROR", 400, "Quantity must be greater than 0",
                       [{"path": ["quantity"], "message": "Number must be greater than 0"}])
    if m.movement_type in OUTBOUND:
        if m.quantity > stock.on_hand:
            raise insufficient_stock(session, stock, m.quantity)
        unit_cost, signed = stock.wac, -m.quantity
    else:
        if m.unit_cost is None or m.unit_cost < 0:
            raise AppError("VALIDATION_ERROR", 400, "A receipt needs a unit cost of 0 or more")
        unit_cost, signed = m.unit_cost, m.quantity
        stock.wac = weighted_average(stock.on_hand, stock.wac, m.quantity, m.unit_cost)
    stock.on_hand += signed
    stock.version += 1
    row = StockMovement(location_id=m.location_id, item_id=m.item_id, period_id=m.period_id,
                        movement_type=m.movement_type, movement_date=m.movement_date, quantity=signed,
                        unit_cost=cost(unit_cost), value=line_value(signed, unit_cost),
                        balance_on_hand=stock.on_hand, balance_wac=stock.wac, source_type=m.source_type,
                        source_id=m.source_id, source_key=m.source_key, created_by_id=m.actor_id)
    session.add(row)
    return row


def insufficient_stock(session: Session, stock: LocationStock, requested: Decimal) -> AppError:
    item = session.get(Material, stock.item_id)
    location = session.get(Location, stock.location_id)
    unit = item.unit_of_measure if item else ""
    name = item.name if item else str(stock.item_id)
    message = f"Cannot issue {_plain(requested)} {unit} of {name}. Only {_plain(stock.on_hand)} {unit} available."
    return AppError("INSUFFICIENT_STOCK", 400, message,
                    {"item": name, "item_id": str(item.uid) if item else None, "requested": float(requested),
                     "available": float(stock.on_hand), "location": location.code if location else None})


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def current_wac(session: Session, location_id: int, item_id: int) -> Decimal:
    wac = session.scalar(select(LocationStock.wac).where(LocationStock.location_id == location_id,
                                                         LocationStock.item_id == item_id))
    return wac if wac is not None else Decimal(0)
