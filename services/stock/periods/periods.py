"""Accounting periods of the stock contract: DRAFT → OPEN (→ PENDING_CLOSE → CLOSED, by the period close).
Periods never overlap: every change of a period's dates takes one transaction-scoped advisory lock and
checks the others, so two concurrent writes cannot both pass. Names are unique. A period's name and dates
change while it is DRAFT, only its name while OPEN. Opening creates a NOT_READY readiness row for every
active location. Never commits."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.timeutil import utcnow
from models.stock import Period, PeriodPrice
from services.catalog import master_data as catalog
from services.stock.periods.readiness import add_active_locations
from services.stock.records import by_uid, duplicate_entry, invalid_field

PERIOD_DATES_LOCK = 0x53544F434B5044  # pg_advisory_xact_lock key serialising period date changes
EDITABLE = ("DRAFT", "OPEN")
CURRENT = ("OPEN", "PENDING_CLOSE")


@dataclass(frozen=True)
class PeriodDates:
    start_date: date
    end_date: date


def list_periods(session: Session, offset: int, limit: int) -> tuple[list[Period], int]:
    """Newest first."""
    rows = session.scalars(select(Period).order_by(Period.start_date.desc(), Period.id.desc())
                           .offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, select(Period.id))


def get_period(session: Session, period_uid: str) -> Period:
    return by_uid(session, Period, period_uid, "Period")


def current_period(session: Session, today: date) -> Period:
    """The OPEN period covering `today`, else the latest OPEN or PENDING_CLOSE one (404 when none)."""
    covering = session.scalars(select(Period).where(Period.status == "OPEN", Period.start_date <= today,
                                                    Period.end_date >= today).limit(1)).first()
    if covering is not None:
        return covering
    latest = session.scalars(select(Period).where(Period.status.in_(CURRENT))
                             .order_by(Period.start_date.desc(), Period.id.desc()).limit(1)).first()
    if latest is None:
        raise AppError("NOT_FOUND", 404, "No open period", None)
    return latest


def prices_count(session: Session, period_id: int) -> int:
    return int(session.scalar(select(func.count()).where(PeriodPrice.period_id == period_id)) or 0)


def ensure_no_overlap(session: Session, dates: PeriodDates, exclude_id: int | None = None) -> None:
    """Refuse dates that overlap another period, under the lock every period date change takes."""
    if dates.end_date < dates.start_date:
        raise invalid_field(["end_date"], "end_date must not be before start_date")
    session.execute(select(func.pg_advisory_xact_lock(PERIOD_DATES_LOCK)))
    query = select(Period).where(Period.start_date <= dates.end_date, Period.end_date >= dates.start_date)
    if exclude_id is not None:
        query = query.where(Period.id != exclude_id)
    other = session.scalars(query.order_by(Period.start_date).limit(1)).first()
    if other is not None:
        raise invalid_field(["start_date"], f"The dates overlap period {other.name} "
                            f"({other.start_date.isoformat()} to {other.end_date.isoformat()})")


def _name_taken(name: object) -> AppError:
    return duplicate_entry("Period", "name", name)


def create_period(session: Session, actor_id: int, values: dict[str, Any]) -> Period:
    ensure_no_overlap(session, PeriodDates(values["start_date"], values["end_date"]))
    if catalog.taken(session, Period.name, values["name"]):
        raise _name_taken(values["name"])
    period = catalog.insert(session, Period(**values, status="DRAFT", created_by_id=actor_id),
                            _name_taken(values["name"]))
    catalog.record_created(session, actor_id, period, "period", "PERIOD_CREATED")
    return period


def _ensure_status(period: Period, allowed: tuple[str, ...], action: str) -> None:
    if period.status not in allowed:
        raise AppError("INVALID_STATUS", 400, f"Cannot {action} period {period.name} in status {period.status}",
                       {"status": period.status, "allowed": list(allowed)})


def update_period(session: Session, actor_id: int, period_uid: str, values: dict[str, Any]) -> Period:
    period = by_uid(session, Period, period_uid, "Period", lock=True)
    _ensure_status(period, EDITABLE, "update")
    changes = {k: v for k, v in catalog.settable(period, values).items() if getattr(period, k) != v}
    if "start_date" in changes or "end_date" in changes:
        _ensure_status(period, ("DRAFT",), "change the dates of")
        ensure_no_overlap(session, PeriodDates(changes.get("start_date", period.start_date),
                                               changes.get("end_date", period.end_date)), exclude_id=period.id)
    name = changes.get("name")
    if name is not None and catalog.taken(session, Period.name, name, exclude_id=period.id):
        raise _name_taken(name)
    if changes:
        catalog.apply_update(session, actor_id, period, changes, "period", "PERIOD_UPDATED", _name_taken(name))
    return period


def open_period(session: Session, actor_id: int, period_uid: str) -> Period:
    """DRAFT → OPEN. Another OPEN period may exist: periods never overlap, so postings find theirs by date."""
    period = by_uid(session, Period, period_uid, "Period", lock=True)
    _ensure_status(period, ("DRAFT",), "open")
    catalog.apply_update(session, actor_id, period, {"status": "OPEN", "opened_at": utcnow()}, "period",
                         "PERIOD_OPENED")
    add_active_locations(session, period.id)
    return period
