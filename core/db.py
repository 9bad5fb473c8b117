"""The database engine and sessions. Services never commit; the request or activity scope does."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

# A pooled connection idle this long is checked before use. After a PostgreSQL restart a quiet process's
# connections are all at least that old; a busy process's were in use a moment ago and skip the round trip
# (measured: a ping on every checkout was about a fifth of the API's CPU for a GET of one record). A
# connection that died anyway fails its request, and SQLAlchemy then replaces every pooled connection.
PING_AFTER_IDLE_SECONDS = 1.0
IDLE_SINCE = "idle_since"  # in a pooled connection's info


def make_engine(url: str, pool_size: int = 20, pre_ping: bool = True) -> Engine:
    """`pre_ping` checks a pooled connection that sat idle (PING_AFTER_IDLE_SECONDS) before use; the worker
    skips it (a failed effect is retried on a fresh connection anyway)."""
    engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_recycle=1800)
    if pre_ping:
        ping_idle_connections(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(IDLE_SINCE)  # none for a connection just made
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            # the pool replaces this connection and every other one made before now, as pool_pre_ping does
            raise exc.InvalidatePoolError(f"pooled connection failed its ping: {err}") from err


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
