"""`/api/v1/auth/*`: the aerospace and battery-rul auth endpoints, with the unions the issue defines."""

import json
from typing import Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, unsafe_text
from api.deps import ClientInfoDep, CurrentUser, SessionDep, before_sign_in, remember_sign_in, require
from api.identity.schemas import (
    AllLoginHistoryOut,
    LoginHistoryOut,
    LoginOut,
    MessageOut,
    PermissionsOut,
    TokenOut,
    UserCreate,
    UserOut,
    ValidateOut,
    attempt_out,
    user_attempt_out,
    user_out,
)
from core.errors import AppError
from core.permissions import ROLE_DESCRIPTIONS, Perm, parse_role, permissions_of
from core.security import decode_token
from core.settings import get_settings
from services import identity
from services.identity import ClientInfo, Principal, TokenPair

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/auth", tags=["auth"])

# The longest value each field may carry: a login name fits `login_attempts.username`, a password the bodies'
# limit (UserCreate), a token far more than a JWT of this service takes.
FIELD_MAX_LENGTH = {"username": 255, "email": 255, "password": 200, "current_password": 200, "new_password": 200,
                    "refresh_token": 4096}


async def read_fields(request: Request, *names: str) -> dict[str, str]:
    """Fields from the query string, a JSON body or a form body, whichever the client sent."""
    values: dict[str, Any] = {n: request.query_params[n] for n in names if n in request.query_params}
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if raw and "json" in content_type:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                                           "input": {}}]) from exc
        if not isinstance(body, dict):
            raise RequestValidationError([{"type": "dict_type", "loc": ("body",),
                                           "msg": "Input should be a valid dictionary", "input": body}])
        values.update({n: body[n] for n in names if n in body})
    elif raw and ("form" in content_type):
        form = await request.form()
        values.update({n: form[n] for n in names if n in form})
    fields = {k: v for k, v in values.items() if isinstance(v, str)}
    _check_fields(fields)
    return fields


def _check_fields(values: dict[str, str]) -> None:
    """Each field within its length and storable (no NUL, no unpaired surrogate): a request-validation error,
    rendered in the route's dialect, before any of it reaches the database or a password hash."""
    errors: list[dict[str, Any]] = []
    for name, value in values.items():
        limit = FIELD_MAX_LENGTH.get(name, 255)
        reason = unsafe_text(value)
        if reason is not None:
            errors.append({"type": "string_unsafe", "loc": ("body", name), "msg": reason, "input": None})
        elif len(value) > limit:
            errors.append({"type": "string_too_long", "loc": ("body", name),
                           "msg": f"String should have at most {limit} characters", "input": None,
                           "ctx": {"max_length": limit}})
    if errors:
        raise RequestValidationError(errors)


def _require_fields(values: dict[str, str], *names: str) -> None:
    """A missing field is a request-validation error, rendered in the route's dialect like any other."""
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise RequestValidationError([{"type": "missing", "loc": ("body", n), "msg": "Field required",
                                       "input": None} for n in missing])


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {"access_token": pair.access.token, "refresh_token": pair.refresh.token, "token_type": "bearer",
            "expires_in": get_settings().access_token_seconds}


def _login_and_commit(session: Session, login_name: str, password: str, client: ClientInfo) -> TokenPair:
    """Commits here, on this thread, whatever the outcome: a failed attempt stays in the login history, and
    the per-account lock `identity.login` takes is released without waiting for teardown."""
    try:
        pair = identity.login(session, login_name, password, client)
    except AppError:
        session.commit()
        raise
    session.commit()
    return pair


# bcrypt and the database are blocking: the async routes (which read a query, JSON or form body) run that
# work on a worker thread so one login does not stall every other request.

@router.post("/login")
async def login(request: Request, session: SessionDep, client: ClientInfoDep) -> LoginOut:
    fields = await read_fields(request, "username", "email", "password")
    fields.setdefault("username", fields.get("email", ""))
    _require_fields(fields, "username", "password")
    before = before_sign_in(request)
    pair = await run_in_threadpool(_login_and_commit, session, fields["username"], fields["password"], client)
    remember_sign_in(request, pair, before)
    return LoginOut(**_tokens(pair), user=user_out(pair.user))


@router.post("/refresh")
async def refresh(request: Request, session: SessionDep) -> TokenOut:
    fields = await read_fields(request, "refresh_token")
    _require_fields(fields, "refresh_token")
    try:
        claims = decode_token(fields["refresh_token"], "refresh")
    except AppError as exc:
        raise AppError("INVALID_REFRESH_TOKEN", 401, "Invalid refresh token") from exc
    pair = await run_in_threadpool(identity.refresh, session, claims)
    return TokenOut(**_tokens(pair))


@router.post("/logout")
def logout(user: CurrentUser, session: SessionDep, client: ClientInfoDep) -> MessageOut:
    identity.logout(session, user, client)
    return MessageOut(message="Successfully logged out")


@router.post("/change-password")
async def change_password(request: Request, user: CurrentUser, session: SessionDep) -> MessageOut:
    fields = await read_fields(request, "current_password", "new_password")
    _require_fields(fields, "current_password", "new_password")
    await run_in_threadpool(identity.change_password, session, user, fields["current_password"],
                            fields["new_password"])
    return MessageOut(message="Password changed successfully")


@router.get("/me")
def me(user: CurrentUser, session: SessionDep) -> UserOut:
    return user_out(identity.get_user(session, user.id))


@router.get("/validate")
def validate(user: CurrentUser) -> ValidateOut:
    return ValidateOut(valid=True, user_id=user.id, email=user.email, role=user.role, is_superuser=user.is_superuser)


@router.get("/permissions")
def permissions(user: CurrentUser, session: SessionDep) -> PermissionsOut:
    record = identity.get_user(session, user.id)
    role = parse_role(record.role)
    return PermissionsOut(
        user_id=record.id, email=record.email, role=record.role,
        role_description=ROLE_DESCRIPTIONS.get(role, "") if role else "",
        is_superuser=record.is_superuser, can_approve_workflows=record.can_approve_workflows,
        approval_limit=float(record.approval_limit) if record.approval_limit is not None else None,
        permissions=permissions_of(record.role, record.is_superuser))


@router.get("/login-history")
def login_history(user: CurrentUser, session: SessionDep, limit: int = Query(10, ge=1, le=500)) -> LoginHistoryOut:
    attempts = identity.login_history(session, user.id, False, limit)
    return LoginHistoryOut(user_id=user.id, login_history=[attempt_out(a) for a in attempts])


@router.get("/all-login-history", dependencies=[require(Perm.VIEW_ALL_LOGIN_HISTORY)])
def all_login_history(session: SessionDep, user_id: DbId | None = None, success_only: bool = False,
                      limit: int = Query(50, ge=1, le=1000)) -> AllLoginHistoryOut:
    attempts = identity.login_history(session, user_id, success_only, limit)
    return AllLoginHistoryOut(total_records=identity.count_login_history(session, user_id, success_only),
                              login_history=[user_attempt_out(a) for a in attempts])


@router.post("/register", status_code=201)
def register(body: UserCreate, session: SessionDep, actor: Principal = require(Perm.MANAGE_USERS)) -> UserOut:
    return user_out(identity.create_user(session, actor.id, body.model_dump()))
