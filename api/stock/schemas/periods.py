"""Bodies of periods, their locations' readiness and POB (multi-location-stock.md §3, §4, §12): ids are
`uid`s, dates ISO dates, times UTC with `Z`."""

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.stock.schemas.documents import IsoDate, IsoTime, PeriodNameRef
from api.stock.schemas.refs import LocationRef, UserRef
from core.timeutil import iso_z
from models.identity import User
from models.stock import Period, PobEntry
from services.stock.periods.periods import prices_count
from services.stock.periods.readiness import LocationReadiness, location_readiness, readiness_counts
from services.stock.pob import PobSheet, RecordedEntry
from services.stock.views import location_ref, user_ref


class LocationNameRef(BaseModel):
    id: str
    name: str


class PeriodOut(BaseModel):
    id: str
    name: str
    status: str
    start_date: IsoDate
    end_date: IsoDate
    opened_at: IsoTime | None
    closed_at: IsoTime | None
    closing_notes: str | None
    created_at: IsoTime
    updated_at: IsoTime


class CurrentPeriodOut(BaseModel):
    """`GET /periods/current`: the period and how many of its locations are ready for the close."""

    id: str
    name: str
    status: str
    start_date: IsoDate
    end_date: IsoDate
    locations_ready: int
    locations_total: int


class ReadinessOut(BaseModel):
    """A location's readiness for the period's close; `id` and `ready_at` null while it has no row yet."""

    id: str | None
    period_id: str
    location: LocationRef
    status: str
    ready_at: IsoTime | None
    ready_by: UserRef | None


class PeriodDetailOut(PeriodOut):
    previous_period: PeriodNameRef | None
    closed_by: UserRef | None
    locations: list[ReadinessOut]
    locations_ready: int
    locations_total: int
    prices_count: int
    close_locations_done: int
    close_locations_total: int


class PeriodCloseOut(CurrentPeriodOut):
    """A period as its close lifecycle shows it (services/stock/periods/close.py `render`): readiness, the close's
    approval and how many locations' closing stock is snapshotted."""

    closing_notes: str | None
    close_approval_id: str | None
    close_locations_done: int
    close_locations_total: int
    closed_at: IsoTime | None


class PeriodCloseRequestedOut(BaseModel):
    message: str
    period: PeriodCloseOut
    approval_id: str | None


class OpeningStockOut(BaseModel):
    """What the new period opens with: the closed period's closing stock."""

    locations: int
    stock_rows: int
    total_value: float


class RolledForwardOut(BaseModel):
    message: str
    period: PeriodCloseOut
    previous_period: PeriodCloseOut
    opening_stock: OpeningStockOut


class PobEntryOut(BaseModel):
    id: str
    date: IsoDate
    crew_count: int
    extra_count: int
    total: int


class PobTotalsOut(BaseModel):
    total_crew: int
    total_extra: int
    total_mandays: int


class PobSheetOut(BaseModel):
    """`GET /locations/{id}/pob`: the location's entries of the period by date, with their totals."""

    period: PeriodNameRef
    location: LocationNameRef
    entries: list[PobEntryOut]
    totals: PobTotalsOut


class RecordedPobOut(PobEntryOut):
    period: PeriodNameRef
    location: LocationNameRef
    created_at: IsoTime
    updated_at: IsoTime


def period_out(period: Period) -> dict[str, Any]:
    return {"id": str(period.uid), "name": period.name, "status": period.status,
            "start_date": period.start_date.isoformat(), "end_date": period.end_date.isoformat(),
            "opened_at": iso_z(period.opened_at), "closed_at": iso_z(period.closed_at),
            "closing_notes": period.closing_notes, "created_at": iso_z(period.created_at),
            "updated_at": iso_z(period.updated_at)}


def current_out(session: Session, period: Period) -> dict[str, Any]:
    """The contract's body of `GET /periods/current`, as written."""
    ready, total = readiness_counts(session, period)
    return {"id": str(period.uid), "name": period.name, "status": period.status,
            "start_date": period.start_date.isoformat(), "end_date": period.end_date.isoformat(),
            "locations_ready": ready, "locations_total": total}


def readiness_out(readiness: LocationReadiness) -> dict[str, Any]:
    row = readiness.row
    return {"id": str(row.uid) if row is not None else None, "period_id": str(readiness.period.uid),
            "location": location_ref(readiness.location), "status": readiness.status,
            "ready_at": iso_z(row.ready_at) if row is not None else None, "ready_by": user_ref(readiness.ready_by)}


def period_detail_out(session: Session, period: Period) -> dict[str, Any]:
    """The period with its locations' readiness, its prices count and the progress of its close."""
    locations = location_readiness(session, period)
    previous = session.get(Period, period.previous_period_id) if period.previous_period_id else None
    closed_by = session.get(User, period.closed_by_id) if period.closed_by_id else None
    return {**period_out(period),
            "previous_period": {"id": str(previous.uid), "name": previous.name} if previous else None,
            "closed_by": user_ref(closed_by),
            "locations": [readiness_out(r) for r in locations],
            "locations_ready": sum(1 for r in locations if r.status == "READY"),
            "locations_total": len(locations), "prices_count": prices_count(session, period.id),
            "close_locations_done": period.close_locations_done,
            "close_locations_total": period.close_locations_total}


def pob_entry_out(entry: PobEntry) -> dict[str, Any]:
    return {"id": str(entry.uid), "date": entry.entry_date.isoformat(), "crew_count": entry.crew_count,
            "extra_count": entry.extra_count, "total": entry.crew_count + entry.extra_count}


def pob_sheet_out(sheet: PobSheet) -> dict[str, Any]:
    """The contract's body of `GET /locations/{id}/pob`, as written."""
    crew = sum(e.crew_count for e in sheet.entries)
    extra = sum(e.extra_count for e in sheet.entries)
    return {"period": {"id": str(sheet.period.uid), "name": sheet.period.name},
            "location": {"id": str(sheet.location.uid), "name": sheet.location.name},
            "entries": [pob_entry_out(e) for e in sheet.entries],
            "totals": {"total_crew": crew, "total_extra": extra, "total_mandays": crew + extra}}


def recorded_pob_out(recorded: RecordedEntry) -> dict[str, Any]:
    return {**pob_entry_out(recorded.entry),
            "period": {"id": str(recorded.period.uid), "name": recorded.period.name},
            "location": {"id": str(recorded.location.uid), "name": recorded.location.name},
            "created_at": iso_z(recorded.entry.created_at), "updated_at": iso_z(recorded.entry.updated_at)}
