"""Users, sessions and login attempts. Never commits: the request scope does."""

import math
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.permissions import parse_role
from core.security import IssuedToken, TokenClaims, hash_password, issue_token, verify_password
from core.settings import get_settings
from core.timeutil import utcnow
from models.identity import AuthSession, LoginAttempt, User
from services import audit

MIN_PASSWORD_LENGTH = 8
HANDLE_MAX_LENGTH = 100  # users.username and users.user_id
LOCKED_REASON = "Too many failed attempts"
ADDRESS_THROTTLED_REASON = "Too many failed attempts from this address"
REFUSED_REASONS = (LOCKED_REASON, ADDRESS_THROTTLED_REASON)  # refused unchecked: count towards neither limit
USER_FIELDS = ("user_id", "username", "email", "full_name", "employee_id", "phone", "department",
               "designation", "role", "is_active", "is_superuser", "can_approve_workflows", "approval_limit",
               "notes", "default_location_id")  # default_location_id: the stock contract's (set on /api/users)
REQUIRED_FIELDS = frozenset({"user_id", "username", "email", "role", "is_active", "is_superuser",
                             "can_approve_workflows"})
CHANGED_PRINCIPALS = "identity.changed_principals"  # a Session.info key, see changed_principals()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    id: int
    user_id: str
    username: str
    email: str
    role: str
    is_superuser: bool
    session_id: uuid.UUID
    approval_limit: Decimal | None = None


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken
    user: User
    session_id: uuid.UUID

    @property
    def principal(self) -> Principal:
        return principal_of(self.user, self.session_id)


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None
    user_agent: str | None


def principal_of(user: User, session_id: uuid.UUID) -> Principal:
    return Principal(user.id, user.user_id, user.username, user.email, user.role, user.is_superuser, session_id,
                     user.approval_limit)


def snapshot(user: User) -> dict[str, Any]:
    return {field: getattr(user, field) for field in USER_FIELDS}


def find_by_login(session: Session, login: str) -> User | None:
    """A login name is the username, the email or the battery-rul `user_id` handle."""
    login = login.strip()
    return session.scalars(select(User).where(or_(
        func.lower(User.username) == login.lower(), func.lower(User.email) == login.lower(),
        User.user_id == login))).first()


def get_user(session: Session, user_pk: int) -> User:
    user = session.get(User, user_pk)
    if user is None:
        raise not_found("User", user_pk)
    return user


def get_user_by_handle(session: Session, handle: str) -> User:
    user = session.scalars(select(User).where(User.user_id == handle)).first()
    if user is None:
        raise not_found("User", handle)
    return user


# --- login, refresh, logout -------------------------------------------------------------------------

def _attempts_of(login: str, user: User | None) -> Any:
    """Attempts that count against one account, whatever name (username, email, handle) they used."""
    by_name = func.lower(LoginAttempt.username) == login.lower()
    return or_(by_name, LoginAttempt.user_id == user.id) if user is not None else by_name


def _serialize_attempts(session: Session, login: str, user: User | None) -> None:
    """Concurrent attempts on one account wait for each other, so a burst cannot outrun the failure count.
    The transaction-level lock is held until the request's transaction ends."""
    key = f"login-user:{user.id}" if user is not None else f"login-name:{login.lower()}"
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def _lockout_remaining(session: Session, login: str, user: User | None) -> int:
    """Seconds until the account may try again (0: not locked). Failures since the last success count."""
    settings = get_settings()
    window_start = utcnow() - timedelta(seconds=settings.login_lockout_seconds)
    attempts = _attempts_of(login, user)
    last_success = session.scalar(select(func.max(LoginAttempt.login_at)).where(
        attempts, LoginAttempt.success.is_(True), LoginAttempt.is_logout.is_(False)))
    since = max(window_start, last_success) if last_success else window_start
    failures = session.scalars(select(LoginAttempt.login_at).where(
        attempts, LoginAttempt.success.is_(False), LoginAttempt.is_logout.is_(False), LoginAttempt.login_at > since,
        or_(LoginAttempt.failure_reason.is_(None), LoginAttempt.failure_reason.not_in(REFUSED_REASONS)),
    ).order_by(LoginAttempt.login_at.desc()).limit(settings.login_max_failures)).all()
    if len(failures) < settings.login_max_failures:
        return 0
    unlock_at = failures[-1] + timedelta(seconds=settings.login_lockout_seconds)
    return max(1, int((unlock_at - utcnow()).total_seconds()) + 1)


def _address_throttle_remaining(session: Session, address: str | None) -> int:
    """Seconds until logins from this caller address may try again (0: not throttled): the address has
    LOGIN_ADDRESS_MAX_FAILURES failed logins, over any usernames, within LOGIN_ADDRESS_WINDOW_SECONDS.
    Successful logins neither count nor reset it (one valid account must not buy more guesses at others).
    Read from the login history, so every API process sees the same count; attempts in flight at the same
    moment are not yet in it, so a burst of parallel attempts can pass the limit by that many."""
    settings = get_settings()
    limit, window = settings.login_address_max_failures, timedelta(seconds=settings.login_address_window_seconds)
    if address is None or limit <= 0:
        return 0
    failures = session.scalars(select(LoginAttempt.login_at).where(
        LoginAttempt.ip_address == address, LoginAttempt.login_at > utcnow() - window,
        LoginAttempt.success.is_(False), LoginAttempt.is_logout.is_(False),
        or_(LoginAttempt.failure_reason.is_(None), LoginAttempt.failure_reason.not_in(REFUSED_REASONS)),
    ).order_by(LoginAttempt.login_at.desc()).limit(limit)).all()
    if len(failures) < limit:
        return 0
    return max(1, math.ceil((failures[-1] + window - utcnow()).total_seconds()))


def _record_attempt(session: Session, login: str, user: User | None, client: ClientInfo, success: bool,
                    reason: str | None = None, is_logout: bool = False) -> None:
    session.add(LoginAttempt(username=login, user_id=user.id if user else None, login_at=utcnow(),
                             ip_address=client.ip_address, user_agent=client.user_agent, success=success,
                             failure_reason=reason, is_logout=is_logout))
    if not success:
        audit.record(session, actor_id=None, entity_type="user", entity_id=user.id if user else login,
                     action_type="LOGIN_FAILED", payload_diff={"failure_reason": {"old": None, "new": reason},
                                                               "ip_address": {"old": None, "new": client.ip_address}})


def _open_session(session: Session, user: User) -> TokenPair:
    sid = uuid.uuid4()
    refresh = issue_token(user.id, user.role, "refresh", sid)
    session.add(AuthSession(id=sid, user_id=user.id, refresh_jti=refresh.jti))
    return TokenPair(issue_token(user.id, user.role, "access", sid), refresh, user, sid)


@lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    return hash_password(uuid.uuid4().hex)


def login(session: Session, login_name: str, password: str, client: ClientInfo) -> TokenPair:
    """Check credentials; every attempt is recorded. The caller commits even on failure."""
    user = find_by_login(session, login_name)
    settings = get_settings()
    wait = _address_throttle_remaining(session, client.ip_address)
    if wait:
        _record_attempt(session, login_name, user, client, False, ADDRESS_THROTTLED_REASON)
        err = AppError("RATE_LIMITED", 429, f"Too many failed logins from this address; try again in {wait} seconds",
                       {"limit": settings.login_address_max_failures,
                        "window_seconds": settings.login_address_window_seconds, "retry_after": wait})
        err.headers = {"Retry-After": str(wait)}
        raise err
    _serialize_attempts(session, login_name, user)
    wait = _lockout_remaining(session, login_name, user)
    if wait:
        _record_attempt(session, login_name, user, client, False, LOCKED_REASON)
        err = AppError("TOO_MANY_ATTEMPTS", 429, f"Too many failed login attempts; try again in {wait} seconds")
        err.headers = {"Retry-After": str(wait)}
        raise err
    # an unknown name costs the same bcrypt check as a known one, so timing does not tell which names exist
    password_ok = verify_password(password, user.password_hash if user is not None else _unknown_user_hash())
    if user is None or not password_ok:
        reason = "Unknown user" if user is None else "Invalid password"
        _record_attempt(session, login_name, user, client, False, reason)
        raise AppError("INVALID_CREDENTIALS", 401, "Incorrect username or password")
    if not user.is_active:
        _record_attempt(session, login_name, user, client, False, "User account is inactive")
        raise AppError("USER_INACTIVE", 401, "User account is inactive")
    _record_attempt(session, login_name, user, client, True)
    user.last_login = utcnow()
    audit.record(session, actor_id=user.id, entity_type="user", entity_id=user.id, action_type="USER_LOGGED_IN")
    return _open_session(session, user)


@dataclass(frozen=True)
class PrincipalChanges:
    """Users and sessions whose principal a transaction changed (revoked, deactivated, another role...)."""

    user_ids: frozenset[int]
    session_ids: frozenset[uuid.UUID]


def _principal_changed(session: Session, user_id: int | None = None, session_id: uuid.UUID | None = None) -> None:
    """Note in the transaction that a principal changed: whoever caches principals (api/deps.py) forgets
    them once it commits (see changed_principals)."""
    users, sessions = session.info.setdefault(CHANGED_PRINCIPALS, (set(), set()))
    if user_id is not None:
        users.add(user_id)
    if session_id is not None:
        sessions.add(session_id)


def changed_principals(session: Session) -> PrincipalChanges | None:
    """The principals the session's last transaction changed, if any; forgets them (call after a commit)."""
    noted = session.info.pop(CHANGED_PRINCIPALS, None)
    return PrincipalChanges(frozenset(noted[0]), frozenset(noted[1])) if noted else None


def authenticate(session: Session, claims: TokenClaims) -> Principal:
    """The principal of a verified access token whose session is still open and user still active."""
    row = session.execute(select(AuthSession.revoked_at, User).join(User, User.id == AuthSession.user_id)
                          .where(AuthSession.id == claims.session_id)).first()
    if row is None or row.revoked_at is not None:
        raise AppError("TOKEN_REVOKED", 401, "Token has been revoked")
    user: User = row.User
    if user.id != claims.user_id or not user.is_active:
        raise AppError("NOT_AUTHENTICATED", 401, "Could not validate credentials")
    return principal_of(user, claims.session_id)


def current_principals(session: Session, session_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Principal]:
    """The principal of each of these sessions that is still open, of a user still active, in one query."""
    rows = session.execute(select(AuthSession.id, User).join(User, User.id == AuthSession.user_id)
                           .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None),
                                  User.is_active.is_(True)))
    return {session_id: principal_of(user, session_id) for session_id, user in rows.tuples()}


def refresh(session: Session, claims: TokenClaims) -> TokenPair:
    """Rotate the refresh token: the presented one must be the session's current one."""
    auth_session = session.get(AuthSession, claims.session_id, with_for_update=True)
    if auth_session is None or auth_session.revoked_at is not None or auth_session.refresh_jti != claims.jti:
        raise AppError("INVALID_REFRESH_TOKEN", 401, "Invalid refresh token")
    user = session.get(User, auth_session.user_id)
    if user is None or not user.is_active:
        raise AppError("INVALID_REFRESH_TOKEN", 401, "Invalid refresh token")
    new_refresh = issue_token(user.id, user.role, "refresh", auth_session.id)
    auth_session.refresh_jti = new_refresh.jti
    audit.record(session, actor_id=user.id, entity_type="user", entity_id=user.id, action_type="TOKEN_REFRESHED")
    return TokenPair(issue_token(user.id, user.role, "access", auth_session.id), new_refresh, user, auth_session.id)


def logout(session: Session, principal: Principal, client: ClientInfo) -> None:
    session.execute(update(AuthSession).where(AuthSession.id == principal.session_id)
                    .values(revoked_at=utcnow()))
    _principal_changed(session, session_id=principal.session_id)
    user = session.get(User, principal.id)
    _record_attempt(session, principal.username, user, client, True, is_logout=True)
    audit.record(session, actor_id=principal.id, entity_type="user", entity_id=principal.id,
                 action_type="USER_LOGGED_OUT")


def change_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """Verify, set, and revoke the user's other sessions."""
    user = get_user(session, principal.id)
    if not verify_password(current, user.password_hash):
        raise AppError("INVALID_CREDENTIALS", 401, "Incorrect current password")
    _check_password(new)
    user.password_hash = hash_password(new)
    user.version += 1
    session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.id != principal.session_id,
                                              AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
    _principal_changed(session, user_id=user.id)
    audit.record(session, actor_id=principal.id, entity_type="user", entity_id=user.id,
                 action_type="PASSWORD_CHANGED", payload_diff={"password": "changed"})


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError("VALIDATION_ERROR", 400, f"Password must be at least {MIN_PASSWORD_LENGTH} characters",
                       {"field": "new_password"})


def login_history(session: Session, user_pk: int | None, success_only: bool, limit: int) -> list[LoginAttempt]:
    query = select(LoginAttempt).order_by(LoginAttempt.login_at.desc(), LoginAttempt.id.desc()).limit(limit)
    if user_pk is not None:
        query = query.where(LoginAttempt.user_id == user_pk)
    if success_only:
        query = query.where(LoginAttempt.success.is_(True))
    return list(session.scalars(query))


def count_login_history(session: Session, user_pk: int | None, success_only: bool) -> int:
    query = select(func.count(LoginAttempt.id))
    if user_pk is not None:
        query = query.where(LoginAttempt.user_id == user_pk)
    if success_only:
        query = query.where(LoginAttempt.success.is_(True))
    return int(session.scalar(query) or 0)


# --- user management --------------------------------------------------------------------------------

def _canonical_role(role: str) -> str:
    parsed = parse_role(role)
    if parsed is None:
        raise AppError("INVALID_ROLE", 400, f"Invalid role: {role}", {"field": "role"})
    return parsed.value


def _ensure_unique(session: Session, values: dict[str, Any], exclude_pk: int | None = None) -> None:
    for field in ("user_id", "username", "email"):
        value = values.get(field)
        if value is None:
            continue
        column = getattr(User, field)
        clash = session.scalar(select(User.id).where(func.lower(column) == str(value).lower()))
        if clash is not None and clash != exclude_pk:
            raise AppError("DUPLICATE_USER", 400, f"User with this {field} already exists", {"field": field})


def _taken(session: Session, column: Any, value: str) -> bool:
    return session.scalar(select(User.id).where(func.lower(column) == value.lower())) is not None


def _free_handle(session: Session, column: Any, email: str) -> str:
    """A handle for a user whose body named none (the aerospace contract has no username): the email's
    local part, else the whole email, else the local part with a random suffix."""
    local = email.split("@")[0]
    for candidate in (local, email):
        if len(candidate) <= HANDLE_MAX_LENGTH and not _taken(session, column, candidate):
            return candidate
    return f"{local[:HANDLE_MAX_LENGTH - 9]}-{uuid.uuid4().hex[:8]}"


def create_user(session: Session, actor_id: int | None, values: dict[str, Any]) -> User:
    """Create a user from either contract's body; missing handles derive from the email."""
    values = {k: v for k, v in values.items() if v is not None}
    password = values.pop("password")
    _check_password(password)
    values["role"] = _canonical_role(values.get("role", "viewer"))
    values.setdefault("username", values.get("user_id") or _free_handle(session, User.username, values["email"]))
    values.setdefault("user_id", values["username"] if not _taken(session, User.user_id, values["username"])
                      else _free_handle(session, User.user_id, values["email"]))
    _ensure_unique(session, values)
    if isinstance(values.get("approval_limit"), float | int):
        values["approval_limit"] = Decimal(str(values["approval_limit"]))
    user = User(password_hash=hash_password(password), **values)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:  # a concurrent create took the name between the check and the insert
        raise AppError("DUPLICATE_USER", 400, "User with this user_id, username or email already exists") from exc
    audit.record(session, actor_id=actor_id, entity_type="user", entity_id=user.id, action_type="USER_CREATED",
                 payload_diff=audit.created(snapshot(user)))
    return user


def update_user(session: Session, actor_id: int, user: User, changes: dict[str, Any]) -> User:
    """Apply the given fields; an explicit null clears an optional field and is ignored for a required one."""
    changes = {k: v for k, v in changes.items() if k in USER_FIELDS and (v is not None or k not in REQUIRED_FIELDS)}
    if "role" in changes:
        changes["role"] = _canonical_role(changes["role"])
    if changes.get("is_active") is False and user.id == actor_id:
        raise AppError("CANNOT_DELETE_SELF", 400, "Cannot deactivate your own account", {"field": "is_active"})
    _ensure_unique(session, changes, exclude_pk=user.id)
    before = snapshot(user)
    for field, value in changes.items():
        setattr(user, field, value)
    user.version += 1
    _principal_changed(session, user_id=user.id)  # its role, names or approval limit may have changed
    if changes.get("is_active") is False:
        _revoke_all_sessions(session, user.id)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="user", entity_id=user.id, action_type="USER_UPDATED",
                 payload_diff=audit.diff(before, snapshot(user)))
    return user


def deactivate_user(session: Session, actor_id: int, user: User) -> User:
    """Aerospace delete: a soft delete that keeps the audit trail."""
    if user.id == actor_id:
        raise AppError("CANNOT_DELETE_SELF", 400, "Cannot delete your own account")
    before = snapshot(user)
    user.is_active = False
    user.version += 1
    _revoke_all_sessions(session, user.id)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="user", entity_id=user.id,
                 action_type="USER_DEACTIVATED", payload_diff=audit.diff(before, snapshot(user)))
    return user


def _revoke_all_sessions(session: Session, user_pk: int) -> None:
    session.execute(update(AuthSession).where(AuthSession.user_id == user_pk, AuthSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    _principal_changed(session, user_id=user_pk)


def list_users(session: Session, offset: int, limit: int) -> tuple[list[User], int]:
    total = int(session.scalar(select(func.count(User.id))) or 0)
    users = list(session.scalars(select(User).order_by(User.id).offset(offset).limit(limit)))
    return users, total


def ensure_bootstrap_admin(session: Session, password: str) -> User | None:
    """Create `admin` (role admin) when no user exists; returns it, or None if users already exist."""
    if session.scalar(select(func.count(User.id))):
        return None
    return create_user(session, None, {"user_id": "admin", "username": "admin", "email": "admin@example.com",
                                       "password": password, "full_name": "System Administrator",
                                       "role": "admin", "is_superuser": True, "can_approve_workflows": True,
                                       "department": "ADMINISTRATION"})


def people(session: Session, user_ids: Collection[int | None]) -> dict[int, dict[str, Any]]:
    """`{id: {"id", "name"}}` for the users a record names (full name, else username): one query."""
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(wanted)))
    return {row.id: {"id": row.id, "name": row.full_name or row.username} for row in rows}
