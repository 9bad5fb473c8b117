"""Locations of the stock contract: lists scoped to what the caller may see, create with a unique code,
update, deactivate, and who is assigned to work where.

Deleting a location is a soft delete (`is_active = false`): deliveries, issues, transfers, the ledger and
users that name it stay valid, and it can be reactivated. It is refused (409 LOCATION_IN_USE) while the
location holds stock or a transfer from or to it awaits approval, so no stock value disappears from view.
Every change writes the audit trail with `location_id` in its payload. Never commits."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.permissions import render_role
from core.timeutil import iso_z
from models.identity import User
from models.stock import Location, LocationStock, LocationUser, Transfer
from services import audit, identity
from services.identity import Principal
from services.stock.access import location_by_uid, location_filter
from services.stock.sessions import works_everywhere

__all__ = ["location_by_uid"]
LOCATION_FIELDS = ("code", "name", "type", "is_active", "address", "description")
OPEN_TRANSFER_STATUSES = ("PENDING_APPROVAL", "APPROVED")


@dataclass(frozen=True)
class LocationFilters:
    type: str | None = None
    active: bool | None = None


def location_view(location: Location) -> dict[str, Any]:
    return {"id": str(location.uid), "code": location.code, "name": location.name, "type": location.type,
            "is_active": location.is_active, "address": location.address, "description": location.description,
            "version": location.version, "created_at": iso_z(location.created_at),
            "updated_at": iso_z(location.updated_at)}


def location_detail(session: Session, location: Location) -> dict[str, Any]:
    """The location with the users assigned to it."""
    users = session.scalars(select(User).join(LocationUser, LocationUser.user_id == User.id)
                            .where(LocationUser.location_id == location.id).order_by(User.username))
    return {**location_view(location), "users": [
        {"id": str(u.uid), "username": u.username, "full_name": u.full_name, "email": u.email,
         "role": render_role(u.role, "stock"), "is_active": u.is_active} for u in users]}


def list_locations(session: Session, viewer: Principal, filters: LocationFilters, offset: int,
                   limit: int) -> tuple[list[Location], int]:
    conditions = [location_filter(session, viewer, Location.id),
                  Location.type == filters.type if filters.type else true(),
                  Location.is_active.is_(filters.active) if filters.active is not None else true()]
    total = int(session.scalar(select(func.count(Location.id)).where(*conditions)) or 0)
    rows = session.scalars(select(Location).where(*conditions).order_by(Location.code, Location.id)
                           .offset(offset).limit(limit))
    return list(rows), total


def _snapshot(location: Location) -> dict[str, Any]:
    return {field: getattr(location, field) for field in LOCATION_FIELDS}


def _record(session: Session, actor_id: int, location: Location, action: str, changes: dict[str, Any]) -> None:
    audit.record(session, actor_id=actor_id, entity_type="location", entity_id=location.id, action_type=action,
                 payload_diff={**changes, "location_id": location.id})


def _ensure_code_free(session: Session, code: str, exclude_id: int | None = None) -> None:
    clash = session.scalar(select(Location.id).where(func.upper(Location.code) == code.upper()))
    if clash is not None and clash != exclude_id:
        raise duplicate_code(code)


def duplicate_code(code: str) -> AppError:
    return AppError("DUPLICATE_ENTRY", 409, f"A location with code {code} already exists", {"code": code})


def _flush_unique(session: Session, location: Location) -> None:
    """A concurrent create or rename may take the code between the check and the write."""
    try:
        with session.begin_nested():
            session.add(location)
            session.flush()
    except IntegrityError as exc:
        raise duplicate_code(location.code) from exc


def create_location(session: Session, actor_id: int, values: dict[str, Any]) -> Location:
    _ensure_code_free(session, values["code"])
    location = Location(**{k: v for k, v in values.items() if k in LOCATION_FIELDS})
    _flush_unique(session, location)
    _record(session, actor_id, location, "LOCATION_CREATED", audit.created(_snapshot(location)))
    return location


def locked_location(session: Session, location_uid: str) -> Location:
    location = location_by_uid(session, location_uid)
    session.refresh(location, with_for_update=True)
    return location


def update_location(session: Session, actor_id: int, location: Location, changes: dict[str, Any],
                    version: int | None = None, action: str = "LOCATION_UPDATED") -> Location:
    if version is not None and version != location.version:
        raise AppError("VERSION_CONFLICT", 409, f"Location was changed meanwhile (version {location.version})",
                       {"current_version": location.version})
    if changes.get("code") is not None:
        _ensure_code_free(session, changes["code"], exclude_id=location.id)
    if changes.get("is_active") is False:
        _ensure_nothing_open(session, location)
    before = _snapshot(location)
    for field, value in changes.items():
        if field in LOCATION_FIELDS and (value is not None or field in ("address", "description")):
            setattr(location, field, value)
    location.version += 1
    _flush_unique(session, location)
    _record(session, actor_id, location, action, audit.diff(before, _snapshot(location)))
    return location


def _ensure_nothing_open(session: Session, location: Location) -> None:
    stocked = int(session.scalar(select(func.count(LocationStock.id)).where(
        LocationStock.location_id == location.id, LocationStock.on_hand > 0)) or 0)
    open_transfers = int(session.scalar(select(func.count(Transfer.id)).where(
        or_(Transfer.from_location_id == location.id, Transfer.to_location_id == location.id),
        Transfer.status.in_(OPEN_TRANSFER_STATUSES))) or 0)
    if stocked or open_transfers:
        raise AppError("LOCATION_IN_USE", 409,
                       f"Location {location.code} still holds stock or has transfers awaiting approval",
                       {"items_in_stock": stocked, "open_transfers": open_transfers})


def deactivate_location(session: Session, actor_id: int, location: Location) -> Location:
    if not location.is_active:
        return location
    return update_location(session, actor_id, location, {"is_active": False}, action="LOCATION_DEACTIVATED")


# --- who works where ----------------------------------------------------------------------------------

def _assignment(session: Session, location_id: int, user_id: int) -> LocationUser | None:
    return session.scalars(select(LocationUser).where(LocationUser.location_id == location_id,
                                                      LocationUser.user_id == user_id)).first()


def assign_user_by_id(session: Session, actor_id: int, location_id: int, user: User) -> None:
    """Assign (idempotent: an existing assignment stays as it is, with no new audit row)."""
    if _assignment(session, location_id, user.id) is not None:
        return
    location = session.get(Location, location_id)
    if location is None:
        raise not_found("Location", location_id)
    try:
        with session.begin_nested():
            session.add(LocationUser(location_id=location_id, user_id=user.id))
    except IntegrityError:  # a concurrent call assigned them meanwhile
        return
    _record(session, actor_id, location, "LOCATION_USER_ASSIGNED", {"user_id": {"old": None, "new": user.id}})


def assign_user(session: Session, actor_id: int, location: Location, user: User) -> None:
    assign_user_by_id(session, actor_id, location.id, user)


def unassign_user(session: Session, actor_id: int, location: Location, user: User) -> None:
    """Remove the assignment; an OPERATOR's default location, if it was this one, is cleared with it."""
    assignment = _assignment(session, location.id, user.id)
    if assignment is None:
        raise not_found("Location user", user.uid)
    session.delete(assignment)
    _record(session, actor_id, location, "LOCATION_USER_UNASSIGNED", {"user_id": {"old": user.id, "new": None}})
    if user.default_location_id == location.id and not works_everywhere(user):
        identity.update_user(session, actor_id, user, {"default_location_id": None})
