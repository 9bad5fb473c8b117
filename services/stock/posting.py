"""When stock documents may be posted: deliveries, issues, transfers and POB need an OPEN period that
covers their date. A date in a closed (or closing) period is 400 `PERIOD_CLOSED`; a date no open period
covers is 400 `NO_OPEN_PERIOD`. The period row is share-locked, so a close that starts meanwhile waits
for the posting to commit (and a posting waits for a close that has begun). Never commits."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError
from models.stock import Period


def period_covering(session: Session, on_date: date, lock: bool = False) -> Period | None:
    query = select(Period).where(Period.start_date <= on_date, Period.end_date >= on_date).limit(1)
    return session.scalars(query.with_for_update(read=True) if lock else query).first()


def period_for_posting(session: Session, on_date: date) -> Period:
    period = period_covering(session, on_date, lock=True)
    if period is None or period.status == "DRAFT":
        raise AppError("NO_OPEN_PERIOD", 400, f"No open period covers {on_date.isoformat()}",
                       {"date": on_date.isoformat()})
    if period.status != "OPEN":
        raise AppError("PERIOD_CLOSED", 400, f"Period {period.name} is {period.status.lower().replace('_', ' ')}; "
                       "nothing can be posted to it", {"period": period.name, "status": period.status,
                                                       "date": on_date.isoformat()})
    return period
