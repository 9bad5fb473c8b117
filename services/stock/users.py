"""Users in the stock contract's terms: found by uid, filtered by role, activity and a search text,
registered with one of the stock roles, each with a default location. Delegates to services/identity
(one user table, one audit trail); a duplicate username or email is 409 DUPLICATE_ENTRY here. An
OPERATOR is always assigned to their default location. Never commits."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.timeutil import iso_z
from models.identity import User
from services import identity
from services.identity import ClientInfo, Principal
from services.stock import locations
from services.stock.sessions import session_users, works_everywhere

STOCK_ROLES = ("OPERATOR", "SUPERVISOR", "ADMIN")


@dataclass(frozen=True)
class UserFilters:
    role: str | None = None
    is_active: bool | None = None
    search: str | None = None


def user_by_uid(session: Session, user_uid: str) -> User:
    try:
        uid = uuid.UUID(str(user_uid))
    except ValueError:
        raise not_found("User", user_uid) from None
    user = session.scalars(select(User).where(User.uid == uid)).first()
    if user is None:
        raise not_found("User", user_uid)
    return user


@contextmanager
def duplicates_are_conflicts() -> Iterator[None]:
    """identity answers a taken username or email with 400 DUPLICATE_USER; the stock contract with 409."""
    try:
        yield
    except AppError as err:
        if err.code != "DUPLICATE_USER":
            raise
        raise AppError("DUPLICATE_ENTRY", 409, err.message, err.details) from err


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: UserFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.role:
        conditions.append(func.lower(User.role) == filters.role.lower())
    if filters.is_active is not None:
        conditions.append(User.is_active.is_(filters.is_active))
    if filters.search and filters.search.strip():
        pattern = _like(filters.search.strip())
        conditions.append(or_(User.username.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\"),
                              User.full_name.ilike(pattern, escape="\\")))
    return conditions


def list_users(session: Session, filters: UserFilters, offset: int, limit: int) -> tuple[list[User], int]:
    conditions = _conditions(filters)
    total = int(session.scalar(select(func.count(User.id)).where(*conditions)) or 0)
    users = session.scalars(select(User).where(*conditions).order_by(User.id).offset(offset).limit(limit))
    return list(users), total


def stock_users(session: Session, users: list[User]) -> list[dict[str, Any]]:
    """Users as `/api/users` renders them: the session fields plus their account state."""
    views = session_users(session, users)
    for view, user in zip(views, users, strict=True):
        view.update({"is_active": user.is_active, "last_login": iso_z(user.last_login),
                     "created_at": iso_z(user.created_at), "updated_at": iso_z(user.updated_at)})
    return views


def stock_user(session: Session, user: User) -> dict[str, Any]:
    return stock_users(session, [user])[0]


def register_user(session: Session, actor_id: int, values: dict[str, Any]) -> User:
    with duplicates_are_conflicts():
        return identity.create_user(session, actor_id, values)


def _with_default_location(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """The body names the default location by uid; the row stores its id (null clears it)."""
    if changes.get("default_location_id") is None:
        return changes
    location = locations.location_by_uid(session, changes["default_location_id"])
    return {**changes, "default_location_id": location.id}


def update_user(session: Session, actor_id: int, user: User, changes: dict[str, Any]) -> User:
    with duplicates_are_conflicts():
        updated = identity.update_user(session, actor_id, user, _with_default_location(session, changes))
    if updated.default_location_id is not None and not works_everywhere(updated):
        locations.assign_user_by_id(session, actor_id, updated.default_location_id, updated)
    return updated


def update_profile(session: Session, principal: Principal, changes: dict[str, Any]) -> User:
    return update_user(session, principal.id, identity.get_user(session, principal.id), changes)


def change_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """A wrong current password is a 400 naming the field: 401 means "not signed in" to the client."""
    try:
        identity.change_password(session, principal, current, new)
    except AppError as err:
        if err.code != "INVALID_CREDENTIALS":
            raise
        raise AppError("VALIDATION_ERROR", 400, "Current password is incorrect",
                       [{"path": ["currentPassword"], "message": "Current password is incorrect"}]) from err


def sign_out(session: Session, principal: Principal | None, client: ClientInfo) -> None:
    if principal is not None:
        identity.logout(session, principal, client)
