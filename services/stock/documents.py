"""What the stock documents (deliveries, issues) share: references by `uid` (unknown → 404), a page of rows
with its total, and the audit row that names the document's location. Never commits."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import AppError
from models.catalog import Material, Supplier
from models.identity import User
from models.stock import Location
from services import audit
from services.stock.records import as_uuid

T = TypeVar("T")


def parse_uid(value: str | uuid.UUID, entity: str) -> uuid.UUID:
    """A document's public id; anything that is not a UUID cannot name a row (404)."""
    return as_uuid(value, entity)


def supplier_by_uid(session: Session, supplier_uid: str) -> Supplier:
    supplier = session.scalars(select(Supplier).where(Supplier.uid == parse_uid(supplier_uid, "Supplier"))).first()
    if supplier is None:
        raise _unknown_reference("Supplier", supplier_uid, ["supplier_id"])
    return supplier


def items_by_uid(session: Session, item_uids: Sequence[str]) -> list[Material]:
    """The item of each document line, in line order; an unknown one is a 404 naming its line."""
    wanted = {uid: _uid_or_none(uid) for uid in item_uids}
    known = [u for u in wanted.values() if u is not None]
    found = {m.uid: m for m in session.scalars(select(Material).where(Material.uid.in_(known)))} if known else {}
    items: list[Material] = []
    for index, item_uid in enumerate(item_uids):
        parsed = wanted[item_uid]
        item = found.get(parsed) if parsed is not None else None
        if item is None:
            raise _unknown_reference("Item", item_uid, ["lines", index, "item_id"])
        items.append(item)
    return items


def _uid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _unknown_reference(entity: str, value: str, path: list[Any]) -> AppError:
    return AppError("NOT_FOUND", 404, f"{entity} {value} not found", {"id": str(value), "path": path})


def by_id(session: Session, model: type[T], ids: Iterable[int | None]) -> dict[int, T]:
    """Rows of `model` keyed by integer id (for rendering references)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    column = model.id  # type: ignore[attr-defined]
    return {row.id: row for row in session.scalars(select(model).where(column.in_(wanted)))}  # type: ignore[attr-defined]


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    return by_id(session, User, ids)


def within_dates(column: InstrumentedAttribute[date], start: date | None,
                 end: date | None) -> list[ColumnElement[bool]]:
    """The `startDate`/`endDate` filters of a list, both inclusive."""
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return conditions


def page_of(session: Session, query: Select[T], offset: int, limit: int) -> tuple[list[T], int]:
    """One page of an ordered query and how many rows the whole query has."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.scalars(query.offset(offset).limit(limit))), int(total)


def record(session: Session, *, actor_id: int, location: Location, entity_type: str, entity_id: int, action: str,
           changes: dict[str, Any]) -> None:
    """The audit row of a stock document: its changes (`{field: {old, new}}`) and the location it happened at
    (`location_id`, as every stock audit row names it)."""
    payload = {**changes, "location_id": {"old": None, "new": location.id}}
    audit.record(session, actor_id=actor_id, entity_type=entity_type, entity_id=entity_id, action_type=action,
                 payload_diff=payload)
