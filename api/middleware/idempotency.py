"""`Idempotency-Key` on every write (issue 10 §4): a retry answers the first call's result.

For a POST, PUT, PATCH or DELETE sent with an `Idempotency-Key` by a signed-in user, the key is that user's
own, bound to the request (a fingerprint of method, path, query and body):
- the first request runs; a success (2xx) is kept with its answer; a failure is forgotten, so a retry runs
  again (a refused request changed nothing);
- a retry with the same key and request answers the kept answer (`Idempotent-Replayed: true`), whatever
  has happened since (a later transition, a worker restart);
- the same key with another request answers 422 `IDEMPOTENCY_KEY_REUSED` naming the key;
- a retry while the first still runs waits for the first's answer (up to `IDEMPOTENCY_WAIT_SECONDS`, then 409
  `IDEMPOTENCY_KEY_IN_USE` with `Retry-After`); a first request that never answered (its API process died)
  is taken over after `IDEMPOTENCY_ABANDONED_SECONDS`.

What a first request that died mid-way had done is made whole by the layer below: a lifecycle call carries
the key in its update id (Temporal answers a repeated update with its first outcome) and a create reserves its
id under the key (services/common/idempotency.py); a direct write marks the key applied in its own transaction
(`watch_commits`), so a retry of one that died after its commit answers 409 `IDEMPOTENCY_KEY_APPLIED` instead
of writing again. Anonymous requests (sign-in) pass through: their answers hold
tokens, which are not kept."""

import asyncio
import hashlib
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.contracts.dialects import dialect_for_path, error_body
from api.deps import token_identity
from core.errors import AppError

log = logging.getLogger("api.middleware.idempotency")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_CHARS = 200
MAX_KEPT_BODY = 1_000_000
SWEEP_EVERY_SECONDS = 600.0
WAIT_POLL_SECONDS = 0.05

CLAIM = text("INSERT INTO idempotent_requests (principal, key, fingerprint) VALUES (:principal, :key, :fingerprint) "
             "ON CONFLICT DO NOTHING RETURNING 1")
EARLIER = text("SELECT fingerprint, status, content_type, body, applied_at IS NOT NULL AS applied, "
               "started_at < now() - make_interval(secs => :abandoned) AS abandoned "
               "FROM idempotent_requests WHERE principal = :principal AND key = :key")
TAKE_OVER = text("UPDATE idempotent_requests SET started_at = now() WHERE principal = :principal AND key = :key "
                 "AND status IS NULL AND applied_at IS NULL "
                 "AND started_at < now() - make_interval(secs => :abandoned) RETURNING 1")
APPLIED = text("UPDATE idempotent_requests SET applied_at = now() WHERE principal = :principal AND key = :key")
KEEP = text("UPDATE idempotent_requests SET status = :status, content_type = :content_type, body = :body "
            "WHERE principal = :principal AND key = :key AND (:success OR applied_at IS NOT NULL)")
FORGET = text("DELETE FROM idempotent_requests WHERE principal = :principal AND key = :key AND status IS NULL "
              "AND applied_at IS NULL")
SWEEP = text("DELETE FROM idempotent_requests WHERE started_at < now() - make_interval(hours => :hours)")


@dataclass(frozen=True, slots=True)
class Keyed:
    principal: str
    key: str
    fingerprint: str

    @property
    def row(self) -> dict[str, str]:
        return {"principal": self.principal, "key": self.key}


@dataclass(slots=True)
class Answer:
    status: int = 0
    content_type: str | None = None
    body: bytearray | None = None


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._swept = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _client_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_CHARS or not key.isprintable():
            await _refuse(scope, receive, send, AppError(
                "VALIDATION_ERROR", 422, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters"))
            return
        principal = _principal(scope)
        if principal is None:  # not signed in: the route answers 401, or it is the sign-in itself
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        keyed = Keyed(principal, key, _fingerprint(scope, body))
        engine: Engine = scope["app"].state.engine
        settings = scope["app"].state.settings
        earlier = await self._claim_waiting(engine, keyed, settings)
        if isinstance(earlier, AppError):
            await _refuse(scope, receive, send, earlier)
            return
        if earlier is not None:
            await earlier(scope, receive, send)
            return
        await self._first(scope, _replaying(body), send, engine, keyed)

    async def _claim_waiting(self, engine: Engine, keyed: Keyed, settings: Any) -> Response | AppError | None:
        """Claim the key; while a first request with it still runs, wait (up to IDEMPOTENCY_WAIT_SECONDS) for its
        answer."""
        deadline = time.monotonic() + settings.idempotency_wait_seconds
        while True:
            earlier = await run_in_threadpool(self._claim, engine, keyed, settings.idempotency_abandoned_seconds)
            still_running = isinstance(earlier, AppError) and earlier.code == "IDEMPOTENCY_KEY_IN_USE"
            if not still_running or time.monotonic() >= deadline:
                return earlier
            await asyncio.sleep(WAIT_POLL_SECONDS)

    def _claim(self, engine: Engine, keyed: Keyed, abandoned: float) -> Response | AppError | None:
        """None when this request is the one to run; else the answer for a retry, or why it is refused."""
        with engine.begin() as conn:
            if conn.execute(CLAIM, {**keyed.row, "fingerprint": keyed.fingerprint}).first():
                return None
            earlier = conn.execute(EARLIER, {**keyed.row, "abandoned": abandoned}).first()
            if earlier is None:  # kept, then swept, between the two statements
                conn.execute(CLAIM, {**keyed.row, "fingerprint": keyed.fingerprint})
                return None
            if earlier.fingerprint != keyed.fingerprint:
                return AppError("IDEMPOTENCY_KEY_REUSED", 422, f"Idempotency-Key {keyed.key!r} was used for another "
                                "request; a new request needs a new key", {"idempotency_key": keyed.key})
            if earlier.status is not None:
                return Response(earlier.body, status_code=earlier.status, media_type=earlier.content_type,
                                headers={"Idempotent-Replayed": "true"})
            if earlier.abandoned and earlier.applied:
                return AppError("IDEMPOTENCY_KEY_APPLIED", 409, f"The request with Idempotency-Key {keyed.key!r} "
                                "was applied, but its answer was lost; read the record to see it",
                                {"idempotency_key": keyed.key})
            if earlier.abandoned and conn.execute(TAKE_OVER, {**keyed.row, "abandoned": abandoned}).first():
                log.warning("taking over the abandoned request of %s with key %r", keyed.principal, keyed.key)
                return None
        in_use = AppError("IDEMPOTENCY_KEY_IN_USE", 409, f"A request with Idempotency-Key {keyed.key!r} is still "
                          "running; retry shortly for its answer", {"idempotency_key": keyed.key})
        in_use.headers["Retry-After"] = "1"
        return in_use

    async def _first(self, scope: Scope, receive: Receive, send: Send, engine: Engine, keyed: Keyed) -> None:
        answer = Answer()

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.content_type = _header(message.get("headers", []), b"content-type")
                answer.body = bytearray()
            elif message["type"] == "http.response.body" and answer.body is not None:
                answer.body += message.get("body", b"")
                if len(answer.body) > MAX_KEPT_BODY:
                    answer.body = None
            await send(message)

        running = _RUNNING.set(keyed)  # a direct write's commit marks the key applied (watch_commits)
        try:
            await self.app(scope, receive, recording)
        finally:
            _RUNNING.reset(running)
            await run_in_threadpool(self._settle, engine, keyed, answer, scope["app"].state.settings)

    def _settle(self, engine: Engine, keyed: Keyed, answer: Answer, settings: Any) -> None:
        """Keep a success's answer (or any answer of a request whose write committed); forget anything else, so
        that a retry runs again."""
        success = 200 <= answer.status < 300 and answer.body is not None
        with engine.begin() as conn:
            kept = answer.body is not None and conn.execute(KEEP, {
                **keyed.row, "status": answer.status, "content_type": answer.content_type,
                "body": bytes(answer.body), "success": success}).rowcount
            if not kept:
                conn.execute(FORGET, keyed.row)
            now = time.monotonic()
            if now - self._swept > SWEEP_EVERY_SECONDS:
                self._swept = now
                conn.execute(SWEEP, {"hours": settings.idempotency_retention_hours})


_RUNNING: ContextVar[Keyed | None] = ContextVar("idempotent_request", default=None)


def watch_commits(factory: sessionmaker[Session]) -> None:
    """Sessions of `factory` that write, committing while a keyed request runs, mark its key applied in the same
    transaction: a retry after the first request died between its commit and its kept answer then answers 409
    `IDEMPOTENCY_KEY_APPLIED` instead of writing again."""
    event.listen(factory, "after_flush", _wrote)
    event.listen(factory, "do_orm_execute", _executed)
    event.listen(factory, "before_commit", _mark_applied)


def _wrote(session: Session, flush_context: Any) -> None:
    session.info["wrote"] = True


def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


def _mark_applied(session: Session) -> None:
    keyed = _RUNNING.get()
    if keyed is not None and session.info.pop("wrote", False):
        session.execute(APPLIED, keyed.row)


def _client_key(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] not in WRITES:
        return None
    value = _header(scope.get("headers", []), b"idempotency-key")
    return None if value is None else value.strip()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for header, value in headers:
        if header == name:
            return value.decode("latin-1")
    return None


def _principal(scope: Scope) -> str | None:
    """`user:<id>` of a valid access token (bearer or cookie); the route itself checks the session."""
    identity = token_identity(scope)
    return None if identity is None else f"user:{identity[0]}"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode("utf-8", "surrogateescape"),
                 scope.get("query_string", b""), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _refuse(scope: Scope, receive: Receive, send: Send, err: AppError) -> None:
    status, body = error_body(dialect_for_path(scope["path"]), err.code, err.status, err.message, err.details)
    await JSONResponse(body, status_code=status, headers=err.headers or None)(scope, receive, send)
