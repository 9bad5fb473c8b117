"""Period prices: the expected unit price of an item in a period (a delivery at another price is a
variance). Prices are set one by one or in bulk (an upsert) and copied from the previous period without
overwriting a price already set. A CLOSED period's prices are frozen (400 PERIOD_CLOSED). The period row
is share-locked while its prices change, so a close that starts meanwhile waits. Never commits."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AppError
from models.catalog import Material
from models.stock import Period, PeriodPrice
from services import audit
from services.stock.records import as_uuid, by_uid


@dataclass(frozen=True)
class PriceRow:
    item: Material
    price: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class PricesCopied:
    period: Period
    source: Period
    copied: int
    skipped: int


def list_prices(session: Session, period_uid: str, offset: int, limit: int) -> tuple[list[PriceRow], int]:
    period = by_uid(session, Period, period_uid, "Period")
    query = (select(PeriodPrice, Material).join(Material, Material.id == PeriodPrice.item_id)
             .where(PeriodPrice.period_id == period.id))
    rows = session.execute(query.order_by(Material.code, Material.id).offset(offset).limit(limit)).tuples()
    total = session.scalar(select(func.count()).where(PeriodPrice.period_id == period.id)) or 0
    return [PriceRow(item, price.price, price.updated_at) for price, item in rows], int(total)


def editable_period(session: Session, period_uid: str) -> Period:
    """The period, share-locked, if its prices may change."""
    period = by_uid(session, Period, period_uid, "Period", share=True)
    if period.status == "CLOSED":
        raise AppError("PERIOD_CLOSED", 400, f"Period {period.name} is closed; its prices are frozen",
                       {"period": period.name, "status": period.status})
    return period


def items_by_uid(session: Session, item_uids: list[str]) -> list[Material]:
    """The items in the order asked; an unknown one is 404 naming it."""
    wanted = [as_uuid(uid, "Item") for uid in item_uids]
    found = {item.uid: item for item in session.scalars(select(Material).where(Material.uid.in_(wanted)))}
    missing = [str(uid) for uid in wanted if uid not in found]
    if missing:
        raise AppError("NOT_FOUND", 404, f"Item {missing[0]} not found", {"id": missing[0], "field": "item_id"})
    return [found[uid] for uid in wanted]


def set_prices(session: Session, actor_id: int, period_uid: str,
               entries: list[tuple[str, Decimal]]) -> tuple[Period, list[PriceRow]]:
    """Upsert each `(item uid, price)` of an editable period; one audit row names every change."""
    period = editable_period(session, period_uid)
    items = items_by_uid(session, [uid for uid, _ in entries])
    old = _prices_of(session, period.id, [item.id for item in items])
    stored: list[PriceRow] = []
    for item, (_, price) in zip(items, entries, strict=True):
        row = session.execute(insert(PeriodPrice).values(period_id=period.id, item_id=item.id, price=price)
                              .on_conflict_do_update(constraint="uq_period_prices_period_item",
                                                     set_={"price": price, "updated_at": func.now()})
                              .returning(PeriodPrice.price, PeriodPrice.updated_at)).one()
        stored.append(PriceRow(item, row.price, row.updated_at))
    changes = audit.diff({i.code: old.get(i.id) for i in items}, {r.item.code: r.price for r in stored})
    audit.record(session, actor_id=actor_id, entity_type="period", entity_id=period.id,
                 action_type="PERIOD_PRICES_SET", payload_diff={"prices": changes})
    return period, stored


def _prices_of(session: Session, period_id: int, item_ids: list[int]) -> dict[int, Decimal]:
    rows = session.execute(select(PeriodPrice.item_id, PeriodPrice.price)
                           .where(PeriodPrice.period_id == period_id, PeriodPrice.item_id.in_(item_ids)))
    return {item_id: price for item_id, price in rows.tuples()}


def previous_period(session: Session, period: Period) -> Period | None:
    """The period it follows: its `previous_period_id`, else the one ending last before it starts."""
    if period.previous_period_id is not None:
        return session.get(Period, period.previous_period_id)
    return session.scalars(select(Period).where(Period.end_date < period.start_date)
                           .order_by(Period.end_date.desc(), Period.id.desc()).limit(1)).first()


def copy_previous_prices(session: Session, actor_id: int, period_uid: str) -> PricesCopied:
    """Copy the previous period's prices into this one, keeping every price this one already has."""
    period = editable_period(session, period_uid)
    source = previous_period(session, period)
    if source is None:
        raise AppError("NOT_FOUND", 404, f"Period {period.name} has no previous period to copy prices from",
                       {"id": str(period.uid)})
    prices = select(PeriodPrice.item_id, PeriodPrice.price).where(PeriodPrice.period_id == source.id).subquery()
    rows = select(literal(period.id), prices.c.item_id, prices.c.price, func.gen_random_uuid())
    copied = list(session.scalars(
        insert(PeriodPrice).from_select(["period_id", "item_id", "price", "uid"], rows)
        .on_conflict_do_nothing(constraint="uq_period_prices_period_item").returning(PeriodPrice.item_id)))
    available = int(session.scalar(select(func.count()).select_from(prices)) or 0)
    audit.record(session, actor_id=actor_id, entity_type="period", entity_id=period.id,
                 action_type="PERIOD_PRICES_COPIED",
                 payload_diff={"source_period": source.name, "copied_item_ids": copied})
    return PricesCopied(period, source, len(copied), available - len(copied))
