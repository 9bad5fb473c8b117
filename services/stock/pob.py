"""People on board: one entry per location and day (crew and extra heads), recorded in an OPEN period
whose dates hold the day. A period that is not OPEN is 400 PERIOD_CLOSED (its row is share-locked while
an entry changes, so a close that starts meanwhile waits); a day outside the period is 400
VALIDATION_ERROR; a second entry for a location and day is 409 DUPLICATE_ENTRY. An OPERATOR sees and
records POB only at their own locations. Never commits."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError
from models.stock import Location, Period, PobEntry
from services.catalog import master_data as catalog
from services.identity import Principal
from services.stock.access import accessible_location, ensure_location_access
from services.stock.periods.periods import current_period
from services.stock.records import by_uid, duplicate_entry, ensure_postable, invalid_field


@dataclass(frozen=True)
class PobSheet:
    period: Period
    location: Location
    entries: list[PobEntry]


@dataclass(frozen=True)
class RecordedEntry:
    entry: PobEntry
    period: Period
    location: Location


def pob_sheet(session: Session, user: Principal, location_uid: str, period_uid: str | None,
              today: date) -> PobSheet:
    """A location's entries of a period (default: the current period), by date."""
    location = accessible_location(session, user, location_uid)
    period = by_uid(session, Period, period_uid, "Period") if period_uid else current_period(session, today)
    entries = session.scalars(select(PobEntry).where(PobEntry.location_id == location.id,
                                                     PobEntry.period_id == period.id)
                              .order_by(PobEntry.entry_date, PobEntry.id)).all()
    return PobSheet(period, location, list(entries))


def _open(period: Period) -> Period:
    if period.status != "OPEN":
        raise AppError("PERIOD_CLOSED", 400, f"Period {period.name} is {period.status}; POB is recorded only in "
                       "an OPEN period", {"period": period.name, "status": period.status})
    return period


def _duplicate(entry_date: date) -> AppError:
    return duplicate_entry("POB entry for", "date", entry_date.isoformat())


def create_entry(session: Session, user: Principal, location_uid: str, values: dict[str, Any]) -> RecordedEntry:
    location = accessible_location(session, user, location_uid)
    ensure_postable(location)
    period = _open(by_uid(session, Period, values["period_uid"], "Period", share=True))
    entry_date: date = values["date"]
    if not period.start_date <= entry_date <= period.end_date:
        raise invalid_field(["date"], f"date must be within period {period.name} "
                            f"({period.start_date.isoformat()} to {period.end_date.isoformat()})")
    if session.scalar(select(PobEntry.id).where(PobEntry.location_id == location.id,
                                                PobEntry.entry_date == entry_date)) is not None:
        raise _duplicate(entry_date)
    entry = catalog.insert(session, PobEntry(location_id=location.id, period_id=period.id, entry_date=entry_date,
                                             crew_count=values["crew_count"], extra_count=values["extra_count"],
                                             created_by_id=user.id), _duplicate(entry_date))
    catalog.record_created(session, user.id, entry, "pob_entry", "POB_ENTRY_CREATED")
    return RecordedEntry(entry, period, location)


def update_entry(session: Session, user: Principal, entry_uid: str, values: dict[str, Any]) -> RecordedEntry:
    entry = by_uid(session, PobEntry, entry_uid, "POB entry", lock=True)
    ensure_location_access(session, user, entry.location_id)
    period = _open(session.scalars(select(Period).where(Period.id == entry.period_id)
                                   .with_for_update(read=True)).one())
    changes = {k: v for k, v in values.items() if v is not None and getattr(entry, k) != v}
    if changes:
        catalog.apply_update(session, user.id, entry, changes, "pob_entry", "POB_ENTRY_UPDATED")
    return RecordedEntry(entry, period, session.get_one(Location, entry.location_id))
