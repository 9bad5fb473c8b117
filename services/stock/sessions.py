"""The stock contract's view of a signed-in user (`UserSession`): who they are, their default location and
the locations they may work at. An OPERATOR works at the active locations assigned to them; SUPERVISOR and
ADMIN (whoever holds `stock.all_locations`) at every active location. Never commits."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.permissions import Perm, has_permission, render_role
from core.security import IssuedToken, issue_token
from core.settings import get_settings
from core.timeutil import iso_z, utcnow
from models.identity import AuthSession, User
from models.stock import Location, LocationUser
from services.identity import Principal

STOCK_DIALECT = "stock"


def works_everywhere(user: User) -> bool:
    return has_permission(user.role, Perm.STOCK_ALL_LOCATIONS, user.is_superuser)


def location_brief(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"id": str(location.uid), "code": location.code, "name": location.name, "type": location.type}


def _active_location_uids(session: Session) -> list[str]:
    query = select(Location.uid).where(Location.is_active.is_(True)).order_by(Location.code, Location.id)
    return [str(uid) for uid in session.scalars(query)]


def _assigned_location_uids(session: Session, user_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each user's assigned active locations, in code order."""
    found: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    rows = session.execute(select(LocationUser.user_id, Location.uid).join(Location)
                           .where(LocationUser.user_id.in_(user_ids), Location.is_active.is_(True))
                           .order_by(Location.code, Location.id))
    for user_id, uid in rows:
        found[user_id].append(str(uid))
    return found


def locations_of(session: Session, users: Sequence[User]) -> dict[int, list[str]]:
    """The location uids each user may work at (one query for the assigned, one for all when needed)."""
    everywhere = [u.id for u in users if works_everywhere(u)]
    found = _assigned_location_uids(session, [u.id for u in users if not works_everywhere(u)])
    if everywhere:
        all_active = _active_location_uids(session)
        found.update({user_id: list(all_active) for user_id in everywhere})
    return found


def _default_locations(session: Session, users: Sequence[User]) -> dict[int, Location]:
    ids = {u.default_location_id for u in users if u.default_location_id is not None}
    if not ids:
        return {}
    return {loc.id: loc for loc in session.scalars(select(Location).where(Location.id.in_(ids)))}


def session_users(session: Session, users: Sequence[User]) -> list[dict[str, Any]]:
    """The `UserSession.user` of each user, in the contract's field names (ids are uids)."""
    locations = locations_of(session, users)
    defaults = _default_locations(session, users)
    return [_session_user(user, defaults.get(user.default_location_id or 0), locations[user.id]) for user in users]


def _session_user(user: User, default: Location | None, locations: list[str]) -> dict[str, Any]:
    return {"id": str(user.uid), "username": user.username, "email": user.email, "full_name": user.full_name,
            "role": render_role(user.role, STOCK_DIALECT),
            "default_location_id": str(default.uid) if default else None,
            "default_location": location_brief(default), "locations": locations}


def session_user(session: Session, user: User) -> dict[str, Any]:
    return session_users(session, [user])[0]


def user_session(session: Session, principal: Principal) -> dict[str, Any]:
    """`UserSession`: the user and when this session signed in."""
    user = session.get(User, principal.id)
    auth_session = session.get(AuthSession, principal.session_id)
    if user is None or auth_session is None:
        raise AppError("NOT_AUTHENTICATED", 401, "Not authenticated")
    return {"user": session_user(session, user), "loggedInAt": iso_z(auth_session.created_at)}


def renewed_access_token(session: Session, principal: Principal) -> IssuedToken | None:
    """A fresh access token of the same session, while the session is younger than a refresh token's
    lifetime: a browser that keeps asking for its session stays signed in that long (revocation still ends
    it at once), as a refresh token would keep a bearer client signed in."""
    auth_session = session.get(AuthSession, principal.session_id)
    max_age = timedelta(seconds=get_settings().refresh_token_seconds)
    if auth_session is None or utcnow() - auth_session.created_at >= max_age:
        return None
    return issue_token(principal.id, principal.role, "access", principal.session_id)
