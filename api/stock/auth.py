"""Stock contract §Authentication (`/api/auth/*`): login, logout, session, register, change-password, profile.

One login logic with `/api/v1/auth/login` (services/identity: lockout, login history, 429 + Retry-After).
The session is the JWT access token of a server-side session row, carried in the httpOnly, SameSite=Lax
cookie `nuxt-session` (Secure in production) and accepted as a bearer token too. Public: login, logout,
session (and register, which itself requires ADMIN)."""

from typing import Any

from fastapi import Request, Response
from pydantic import ConfigDict, EmailStr, Field
from sqlalchemy.orm import Session

from api.deps import (
    STOCK_SESSION_COOKIE,
    ClientInfoDep,
    CurrentUser,
    OptionalUser,
    SessionDep,
    before_sign_in,
    remember_sign_in,
    require,
)
from api.stock.common import StockBody, stock_router
from api.stock.schemas.results import SuccessMessageOut, SuccessOut
from api.stock.schemas.users import (
    SessionUserMessageOut,
    StockRole,
    UserMessageOut,
    UserSessionOut,
)
from core.errors import AppError
from core.permissions import Perm
from core.security import IssuedToken
from core.settings import Settings
from services import identity
from services.identity import ClientInfo, Principal, TokenPair
from services.stock import users
from services.stock.sessions import renewed_access_token, session_user, user_session

router = stock_router(tags=["stock: auth"])


class Credentials(StockBody):
    email: str = Field(min_length=1, max_length=255, description="the email or the username")
    password: str = Field(min_length=1, max_length=200)


class Registration(StockBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=identity.HANDLE_MAX_LENGTH)
    email: EmailStr
    password: str = Field(min_length=identity.MIN_PASSWORD_LENGTH, max_length=200)
    full_name: str | None = Field(default=None, max_length=255)
    role: StockRole = "OPERATOR"


class PasswordChange(StockBody):
    current_password: str = Field(alias="currentPassword", min_length=1, max_length=200)
    new_password: str = Field(alias="newPassword", min_length=identity.MIN_PASSWORD_LENGTH, max_length=200)


class ProfileChange(StockBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    full_name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def set_session_cookie(request: Request, response: Response, token: IssuedToken) -> None:
    settings = _settings(request)
    response.set_cookie(STOCK_SESSION_COOKIE, token.token, max_age=settings.access_token_seconds, path="/",
                        httponly=True, samesite="lax", secure=settings.production)


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(STOCK_SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_settings(request).production)


def _sign_in(session: Session, credentials: Credentials, client: ClientInfo) -> tuple[TokenPair, dict[str, Any]]:
    """Commits whatever the outcome: a failed attempt stays in the login history (it counts towards the
    lockout) and the per-account lock identity.login takes is released at once."""
    try:
        pair = identity.login(session, credentials.email, credentials.password, client)
    except AppError:
        session.commit()
        raise
    user = session_user(session, pair.user)
    session.commit()
    return pair, user


@router.post("/auth/login", response_model=SessionUserMessageOut)
def login(body: Credentials, request: Request, response: Response, session: SessionDep,
          client: ClientInfoDep) -> Any:
    before = before_sign_in(request)
    pair, user = _sign_in(session, body, client)
    remember_sign_in(request, pair, before)
    set_session_cookie(request, response, pair.access)
    return {"success": True, "message": "Login successful", "user": user}


@router.post("/auth/logout", response_model=SuccessOut)
def logout(request: Request, response: Response, caller: OptionalUser, session: SessionDep,
           client: ClientInfoDep) -> Any:
    users.sign_out(session, caller, client)
    clear_session_cookie(request, response)
    return {"success": True}


def _signed_in_by_cookie(request: Request) -> bool:
    return STOCK_SESSION_COOKIE in request.cookies and not request.headers.get("authorization")


@router.get("/auth/session", response_model=UserSessionOut | None)
def current_session(request: Request, response: Response, caller: OptionalUser, session: SessionDep) -> Any:
    """`UserSession` or null. A cookie session gets a fresh token each time (see renewed_access_token)."""
    if caller is None:
        if STOCK_SESSION_COOKIE in request.cookies:
            clear_session_cookie(request, response)  # stale: expired, revoked or tampered
        return None
    if _signed_in_by_cookie(request) and (token := renewed_access_token(session, caller)) is not None:
        set_session_cookie(request, response, token)
        request.app.state.principals.alias(token.token, request.cookies[STOCK_SESSION_COOKIE], token.expires_at)
    return user_session(session, caller)


@router.post("/auth/register", response_model=UserMessageOut)
def register(body: Registration, session: SessionDep, actor: Principal = require(Perm.MANAGE_USERS)) -> Any:
    user = users.register_user(session, actor.id, body.model_dump())
    return {"success": True, "message": "User registered", "user": users.stock_user(session, user)}


@router.post("/auth/change-password", response_model=SuccessMessageOut)
def change_password(body: PasswordChange, caller: CurrentUser, session: SessionDep) -> Any:
    users.change_password(session, caller, body.current_password, body.new_password)
    return {"success": True, "message": "Password changed successfully"}


@router.patch("/auth/profile", response_model=SessionUserMessageOut)
def update_profile(body: ProfileChange, caller: CurrentUser, session: SessionDep) -> Any:
    user = users.update_profile(session, caller, body.model_dump(exclude_unset=True))
    return {"success": True, "message": "Profile updated", "user": session_user(session, user)}
