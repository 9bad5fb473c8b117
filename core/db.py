"""The database engine and sessions. Services never commit; the request or activity scope does."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, pool_size: int = 20, pre_ping: bool = True) -> Engine:
    """`pre_ping` checks a pooled connection before use; the worker skips it (a failed effect is retried
    on a fresh connection anyway) to save a round trip per activity."""
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=pre_ping, pool_recycle=1800)


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
