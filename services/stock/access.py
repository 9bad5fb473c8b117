"""Who may see and post at which location (stock "Role Permissions"): an OPERATOR only at the locations
assigned to them, SUPERVISOR and ADMIN everywhere. Location scoping is a row filter on lists and a
403 `LOCATION_ACCESS_DENIED` on a single location. Never commits."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import AppError, not_found
from core.permissions import Perm, has_permission
from models.stock import Location, LocationUser
from services.identity import Principal
from services.stock.records import as_uuid


def sees_all_locations(user: Principal) -> bool:
    return has_permission(user.role, Perm.STOCK_ALL_LOCATIONS, user.is_superuser)


def assigned_location_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(LocationUser.location_id).where(LocationUser.user_id == user_id)
                                .order_by(LocationUser.location_id)))


def location_filter(session: Session, user: Principal, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows at locations this user may see."""
    if sees_all_locations(user):
        return true()
    return column.in_(assigned_location_ids(session, user.id))


def location_by_uid(session: Session, location_uid: str | uuid.UUID) -> Location:
    location = session.scalars(select(Location).where(Location.uid == as_uuid(location_uid, "Location"))).first()
    if location is None:
        raise not_found("Location", location_uid)
    return location


def accessible_location(session: Session, user: Principal, location_uid: str | uuid.UUID) -> Location:
    """The location, if this user may work there (404 when unknown, 403 when not theirs)."""
    location = location_by_uid(session, location_uid)
    ensure_location_access(session, user, location.id)
    return location


def ensure_location_access(session: Session, user: Principal, location_id: int) -> None:
    if sees_all_locations(user):
        return
    if location_id not in assigned_location_ids(session, user.id):
        location = session.get(Location, location_id)
        raise AppError("LOCATION_ACCESS_DENIED", 403, "You do not have access to this location",
                       {"location": location.code if location else None})

