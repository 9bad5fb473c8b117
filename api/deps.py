"""Named dependencies: SessionDep, TemporalDep, CurrentUser, require(permission)."""

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.request_context import caller_ip
from core.db import session_scope
from core.errors import AppError, access_denied
from core.permissions import Perm, has_permission
from core.security import decode_token
from services import identity
from services.identity import ClientInfo, Principal
from workflows.production_dto import Actor

T = TypeVar("T")

SESSION_COOKIE = "session"  # the inbox's cookie (path /inbox)
STOCK_SESSION_COOKIE = "nuxt-session"  # the stock contract's cookie (path /): the same access token


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise AppError("SERVICE_UNAVAILABLE", 503, "Temporal is not connected")
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(STOCK_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def get_current_user(request: Request) -> Principal:
    """The caller, checked in a short transaction of its own: a lifecycle call that follows holds no
    database connection while it waits for its workflow."""
    token = bearer_token(request)
    if not token:
        raise AppError("NOT_AUTHENTICATED", 401, "Not authenticated")
    claims = decode_token(token, "access")
    with session_scope(request.app.state.sessionmaker) as session:
        principal = identity.authenticate(session, claims)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_optional_user(request: Request) -> Principal | None:
    """The caller if signed in with a valid, open session; None otherwise (public routes)."""
    try:
        return get_current_user(request)
    except AppError:
        return None


OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]


def require(perm: Perm) -> Any:
    """A dependency that answers 403 unless the caller's role holds `perm`."""

    def check(user: CurrentUser) -> Principal:
        if not has_permission(user.role, perm, user.is_superuser):
            raise access_denied(f"Requires permission {perm.value}")
        return user

    return Depends(check)


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(caller_ip(request.scope), request.headers.get("user-agent"))


ClientInfoDep = Annotated[ClientInfo, Depends(client_info)]


def actor_of(principal: Principal, request: Request | None = None) -> Actor:
    """The caller as a lifecycle sees it; with the request, its IP lands in histories."""
    ip = client_info(request).ip_address if request is not None else None
    return Actor(id=principal.id, role=principal.role, is_superuser=principal.is_superuser,
                 approval_limit=principal.approval_limit, ip_address=ip)


async def in_transaction(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run `work(session, *args)` in one committed transaction on a worker thread."""

    def run() -> T:
        with session_scope(request.app.state.sessionmaker) as session:
            return work(session, *args)

    return await run_in_threadpool(run)
