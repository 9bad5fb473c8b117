"""Named dependencies: SessionDep, TemporalDep, CurrentUser, require(permission).

Every dependency here is `async def`: FastAPI runs a plain `def` dependency on a worker thread, a hop that
costs more CPU than most of them do. What blocks (the database) still runs on a worker thread."""

import logging
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope
from temporalio.client import Client

from api.middleware.request_context import caller_ip
from core.db import session_scope
from core.errors import AppError, access_denied
from core.permissions import Perm, has_permission
from core.security import TokenClaims, decode_token
from core.timeutil import utcnow
from dto.identity import Actor
from services import identity
from services.identity import ClientInfo, Principal, TokenPair

T = TypeVar("T")
log = logging.getLogger("api.deps")

SESSION_COOKIE = "session"  # the inbox's cookie (path /inbox)
STOCK_SESSION_COOKIE = "nuxt-session"  # the stock contract's cookie (path /): the same access token
READ_METHODS = frozenset({"GET", "HEAD"})  # no route answering these may write: their queries run in autocommit


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, made here on the event loop (it connects at its first query) and closed before
    the response is sent.

    A change (any method but GET and HEAD) is one transaction, committed at the end, or rolled back on an
    error; ending it is I/O, so on a worker thread. A read runs each query in autocommit (no BEGIN before,
    no ROLLBACK after: two round trips saved; under READ COMMITTED each statement saw its own snapshot
    anyway), so closing it is no I/O and happens right here."""
    if request.method in READ_METHODS:
        reader: Session = request.app.state.read_sessionmaker()
        try:
            yield reader
        finally:
            reader.close()
        return
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=True)


async def _end(session: Session, commit: bool) -> None:
    if not session.in_transaction():
        session.close()  # nothing begun (or the route committed itself): no I/O
        return
    await run_in_threadpool(_finish, session, commit)


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise AppError("SERVICE_UNAVAILABLE", 503, "Temporal is not connected")
    return client


async def _temporal_dep(request: Request) -> Client:
    return get_temporal(request)


TemporalDep = Annotated[Client, Depends(_temporal_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(STOCK_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def token_identity(scope: Scope) -> tuple[int, uuid.UUID] | None:
    """(user id, session id) of the request's valid access token (bearer or cookie), for middleware that runs
    before the route checks the session itself; a token this app has a principal for needs no signature check."""
    token = bearer_token(Request(scope))
    if not token:
        return None
    cache: PrincipalCache | None = getattr(getattr(scope.get("app"), "state", None), "principals", None)
    known = cache.get(token) if cache is not None else None
    if known is not None:
        return known.id, known.session_id
    try:
        claims = decode_token(token, "access")
    except AppError:
        return None
    return claims.user_id, claims.session_id


@dataclass(slots=True)
class _Known:
    principal: Principal
    checked_at: float  # when the database last confirmed it (the cache's clock)
    expires_at: float  # when its token expires (the cache's clock)


class PrincipalCache:
    """The principals of the access tokens this app has seen, so a request skips the token's signature check
    and the session and user query (measured: about 1.5 ms of API CPU per request, a thread hop included).

    A principal is trusted for `ttl` seconds (PRINCIPAL_CACHE_SECONDS) after the database last confirmed it;
    the app's PrincipalSweeper confirms them all, off the request path, every quarter of that, so a token in
    use stays cached until it expires, and a change made anywhere (another process, SQL by hand) applies
    here within `ttl`. A change committed in this process (logout, password change, user update or
    deactivation) applies to the next request: every cache in the process forgets it at the commit."""

    MAX_ENTRIES = 10_000  # past that, expired tokens go, then all: a flood of new tokens cannot grow it

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self.generation = 0  # bumped by every forget(): a check that read the database before it is stale
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()  # forget() and sweep() run on worker threads
        _caches.add(self)

    def mark(self) -> tuple[float, int]:
        """The time and generation to `put` a principal with: take them before reading it from the database,
        so a change committed meanwhile wins."""
        return self.clock(), self.generation

    def get(self, token: str) -> Principal | None:
        known = self._known.get(token)
        if known is None:
            return None
        now = self.clock()
        return known.principal if now - known.checked_at < self.ttl and now < known.expires_at else None

    def put(self, token: str, principal: Principal, token_expires_at: datetime, checked_at: float,
            generation: int) -> None:
        """Keep a principal the database confirmed at `checked_at`, unless one changed since `generation`."""
        expires_at = self.clock() + (token_expires_at - utcnow()).total_seconds()
        with self._lock:
            if self.ttl <= 0 or generation != self.generation:
                return
            if len(self._known) >= self.MAX_ENTRIES:
                self._drop_expired()
                if len(self._known) >= self.MAX_ENTRIES:
                    self._known.clear()
            self._known[token] = _Known(principal, checked_at, expires_at)

    def alias(self, token: str, known_token: str, token_expires_at: datetime) -> None:
        """Another token of the same session (a renewed cookie) is as trusted as the one it replaces."""
        known = self._known.get(known_token)
        if known is not None:
            self.put(token, known.principal, token_expires_at, known.checked_at, self.generation)  # as confirmed

    def forget(self, user_ids: frozenset[int], session_ids: frozenset[uuid.UUID]) -> None:
        with self._lock:
            self.generation += 1
            self._known = {token: known for token, known in self._known.items()
                           if known.principal.id not in user_ids and known.principal.session_id not in session_ids}

    def sweep(self, confirm: Callable[[set[uuid.UUID]], dict[uuid.UUID, Principal]]) -> None:
        """Confirm every principal at once with `confirm` (the current principal of each session still open);
        forget those that changed or ended."""
        with self._lock:
            self._drop_expired()
            swept = list(self._known.items())
        if not swept:
            return
        checked_at = self.clock()
        current = confirm({known.principal.session_id for _, known in swept})
        with self._lock:
            for token, known in swept:
                if self._known.get(token) is not known:
                    continue  # forgotten (or replaced) meanwhile
                if current.get(known.principal.session_id) == known.principal:
                    known.checked_at = checked_at
                else:
                    del self._known[token]

    def _drop_expired(self) -> None:
        now = self.clock()
        self._known = {token: known for token, known in self._known.items() if known.expires_at > now}


_caches: "weakref.WeakSet[PrincipalCache]" = weakref.WeakSet()  # every app's, for _forget_changed_principals


@event.listens_for(Session, "after_commit")
def _forget_changed_principals(session: Session) -> None:
    changes = identity.changed_principals(session)
    if changes is not None:
        for cache in list(_caches):
            cache.forget(changes.user_ids, changes.session_ids)


class PrincipalSweeper:
    """Confirms an app's cached principals every quarter of their TTL, in one query on a connection of its
    own (so it neither waits for nor takes one of the requests'), on a thread of its own."""

    def __init__(self, cache: PrincipalCache, engine: Engine) -> None:
        self.cache, self.interval = cache, cache.ttl / 4
        self.engine = create_engine(engine.url, pool_size=1, max_overflow=0, pool_recycle=1800,
                                    isolation_level="AUTOCOMMIT")  # one SELECT: no BEGIN or ROLLBACK needed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="principal-sweeper", daemon=True)
        self._failing = False  # said once when the sweeps start failing, once when they work again

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.cache.sweep(self.confirm)
            except Exception as exc:  # the database is away: the principals age out, requests check them
                if not self._failing:
                    log.warning("could not confirm the cached principals (retrying quietly): %s", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("the cached principals are confirmed again")
                self._failing = False

    def confirm(self, session_ids: set[uuid.UUID]) -> dict[uuid.UUID, Principal]:
        with Session(self.engine) as session:
            return identity.current_principals(session, session_ids)


def start_principal_sweeper(app: FastAPI) -> PrincipalSweeper | None:
    cache: PrincipalCache = app.state.principals
    if cache.ttl <= 0:
        return None
    sweeper = PrincipalSweeper(cache, app.state.engine)
    sweeper.start()
    return sweeper


async def get_current_user(request: Request) -> Principal:
    """The caller: a cached principal, else checked in a short transaction of its own on a worker thread (a
    lifecycle call that follows holds no database connection while it waits)."""
    token = bearer_token(request)
    if not token:
        raise AppError("NOT_AUTHENTICATED", 401, "Not authenticated")
    principal = request.app.state.principals.get(token)
    if principal is None:
        claims = decode_token(token, "access")
        principal = await run_in_threadpool(_authenticate, request, token, claims)
    request.state.principal = principal
    return principal


def _authenticate(request: Request, token: str, claims: TokenClaims) -> Principal:
    cache: PrincipalCache = request.app.state.principals
    before = cache.mark()
    with session_scope(request.app.state.sessionmaker) as session:
        principal = identity.authenticate(session, claims)
    cache.put(token, principal, claims.expires_at, *before)
    return principal


def before_sign_in(request: Request) -> tuple[float, int]:
    cache: PrincipalCache = request.app.state.principals
    return cache.mark()


def remember_sign_in(request: Request, pair: TokenPair, before: tuple[float, int]) -> None:
    """A token just issued by a committed sign-in: its first request need not check it again. `before`:
    before_sign_in's, taken before the sign-in read the user."""
    cache: PrincipalCache = request.app.state.principals
    cache.put(pair.access.token, pair.principal, pair.access.expires_at, *before)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_optional_user(request: Request) -> Principal | None:
    """The caller if signed in with a valid, open session; None otherwise (public routes)."""
    try:
        return await get_current_user(request)
    except AppError:
        return None


OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]


def require(perm: Perm) -> Any:
    """A dependency that answers 403 unless the caller's role holds `perm`."""

    async def check(user: CurrentUser) -> Principal:
        if not has_permission(user.role, perm, user.is_superuser):
            raise access_denied(f"Requires permission {perm.value}")
        return user

    return Depends(check)


async def _client_info_dep(request: Request) -> ClientInfo:
    return client_info(request)


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(caller_ip(request.scope), request.headers.get("user-agent"))


ClientInfoDep = Annotated[ClientInfo, Depends(_client_info_dep)]


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
