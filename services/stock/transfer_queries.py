"""Reading transfers: the filtered, location-scoped list behind `GET /api/transfers`."""

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models.stock import Transfer
from services.identity import Principal
from services.stock import access as stock_access
from services.stock import transfer_reads as stock_transfer_views
from services.stock import transfers as stock_transfers


def list_transfers(session: Session, user: Principal, *, from_location: str | None, to_location: str | None,
                   status: str | None, start: date | None, end: date | None, offset: int,
                   limit: int) -> tuple[list[dict[str, Any]], int]:
    query = select(Transfer)
    if not stock_access.sees_all_locations(user):
        mine = stock_access.assigned_location_ids(session, user.id)
        query = query.where(or_(Transfer.from_location_id.in_(mine), Transfer.to_location_id.in_(mine)))
    if from_location:
        query = query.where(Transfer.from_location_id == stock_access.location_by_uid(session, from_location).id)
    if to_location:
        query = query.where(Transfer.to_location_id == stock_access.location_by_uid(session, to_location).id)
    if status:
        query = query.where(Transfer.status == status)
    if start:
        query = query.where(Transfer.request_date >= start)
    if end:
        query = query.where(Transfer.request_date <= end)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Transfer.request_date.desc(), Transfer.id.desc()).offset(offset).limit(limit))
    return stock_transfer_views.render_many(session, list(rows)), total


def get_transfer(session: Session, user: Principal, transfer_uid: str) -> dict[str, Any]:
    view = stock_transfers.current_view(session, transfer_uid)
    transfer = session.get(Transfer, view.id)
    assert transfer is not None
    if not stock_access.sees_all_locations(user):
        mine = stock_access.assigned_location_ids(session, user.id)
        if transfer.from_location_id not in mine and transfer.to_location_id not in mine:
            stock_access.ensure_location_access(session, user, transfer.from_location_id)
    return view.body
