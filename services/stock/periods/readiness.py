"""Which locations are ready for a period's close. A period's locations are its readiness rows plus every
active location without one (a location added after the period opened counts, NOT_READY, until it is
marked); a CLOSED period's are its rows only. Marking needs an OPEN period and access to the location
(an OPERATOR only at their own); the row is created when missing. The period row is share-locked while a
location is marked, so a close that starts meanwhile waits and then sees the mark. Never commits."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import AppError
from core.timeutil import utcnow
from models.identity import User
from models.stock import Location, Period, PeriodLocation
from services import audit
from services.identity import Principal
from services.stock.access import accessible_location
from services.stock.records import by_uid

READY, NOT_READY = "READY", "NOT_READY"


@dataclass(frozen=True)
class LocationReadiness:
    period: Period
    location: Location
    row: PeriodLocation | None
    ready_by: User | None

    @property
    def status(self) -> str:
        return self.row.status if self.row is not None else NOT_READY


def _of_period(period: Period) -> ColumnElement[bool]:
    has_row = PeriodLocation.id.is_not(None)
    return has_row if period.status == "CLOSED" else Location.is_active | has_row


def _joined(period: Period, *columns: Any) -> Select[Any]:
    return (select(*columns).select_from(Location)
            .outerjoin(PeriodLocation, and_(PeriodLocation.location_id == Location.id,
                                            PeriodLocation.period_id == period.id))
            .where(_of_period(period)))


def location_readiness(session: Session, period: Period) -> list[LocationReadiness]:
    query = _joined(period, Location, PeriodLocation, User).outerjoin(User, User.id == PeriodLocation.ready_by_id)
    rows = session.execute(query.order_by(Location.code, Location.id)).tuples()
    return [LocationReadiness(period, location, row, user) for location, row, user in rows]


def readiness_counts(session: Session, period: Period) -> tuple[int, int]:
    """(locations ready, locations of the period)."""
    query = _joined(period, func.count(), func.count().filter(PeriodLocation.status == READY))
    total, ready = session.execute(query).one()
    return int(ready), int(total)


def add_active_locations(session: Session, period_id: int) -> None:
    """A NOT_READY row for every active location that has none."""
    rows = select(func.gen_random_uuid(), literal(period_id), Location.id, literal(NOT_READY)).where(Location.is_active)
    session.execute(insert(PeriodLocation).from_select(["uid", "period_id", "location_id", "status"], rows)
                    .on_conflict_do_nothing(constraint="uq_period_locations_period_location"))


def _row(session: Session, period: Period, location: Location) -> PeriodLocation:
    """The readiness row, created when missing, locked."""
    session.execute(insert(PeriodLocation).values(uid=uuid.uuid4(), period_id=period.id, location_id=location.id,
                                                  status=NOT_READY)
                    .on_conflict_do_nothing(constraint="uq_period_locations_period_location"))
    return session.scalars(select(PeriodLocation).where(PeriodLocation.period_id == period.id,
                                                        PeriodLocation.location_id == location.id)
                           .with_for_update()).one()


def mark_location(session: Session, user: Principal, period_uid: str, location_uid: str,
                  ready: bool) -> LocationReadiness:
    """Mark the location READY (or back to NOT_READY) for the period's close."""
    period = by_uid(session, Period, period_uid, "Period", share=True)
    location = accessible_location(session, user, location_uid)
    if period.status != "OPEN":
        raise AppError("INVALID_STATUS", 400, f"Period {period.name} is {period.status}; only an OPEN period's "
                       "locations can be marked", {"status": period.status, "allowed": ["OPEN"]})
    row = _row(session, period, location)
    before = {"status": row.status, "ready_at": row.ready_at, "ready_by_id": row.ready_by_id}
    after = {"status": READY, "ready_at": utcnow(), "ready_by_id": user.id} if ready else \
        {"status": NOT_READY, "ready_at": None, "ready_by_id": None}
    if before["status"] != after["status"]:
        for field, value in after.items():
            setattr(row, field, value)
        session.flush()
        audit.record(session, actor_id=user.id, entity_type="period_location", entity_id=row.id,
                     action_type="PERIOD_LOCATION_READY" if ready else "PERIOD_LOCATION_NOT_READY",
                     payload_diff={"period": period.name, "location": location.code, **audit.diff(before, after)})
    ready_by = session.get(User, row.ready_by_id) if row.ready_by_id is not None else None
    return LocationReadiness(period, location, row, ready_by)
