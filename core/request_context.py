"""Where a change came from, for the audit trail: the caller's IP and the request (`POST /api/locations`).
The API sets it for each HTTP request (api/middleware/request_context.py); the worker for each activity, from the actor
its command carries and the lifecycle that runs it (activities/context.py). Rows written elsewhere have none."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MAX_REQUEST_CHARS = 300  # the audit row's `request` column


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    request: str | None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


@contextmanager
def using(context: RequestContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)
