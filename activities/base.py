"""What every group of activities shares: the session factory, and the one transaction each effect runs in."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from core.db import session_scope
from core.errors import AppError


@contextmanager
def business_errors() -> Iterator[None]:
    """Turn a business refusal (AppError) into a non-retryable ApplicationError of the same code."""
    try:
        yield
    except AppError as exc:
        raise ApplicationError(exc.message, exc.details, type=exc.code, non_retryable=True) from exc


class Effects:
    """A group of activities on one session factory (each group lists its activities for the worker in `all()`)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One effect's transaction: committed when the block ends, rolled back if it raises; a business refusal
        fails the activity without retry (`business_errors`)."""
        with business_errors(), session_scope(self.factory) as session:
            yield session

    @contextmanager
    def bare_transaction(self) -> Iterator[Session]:
        """A transaction whose every error, a business refusal too, fails the attempt as itself (so it is
        retried): the reads and the outbox delivery that have always run so."""
        with session_scope(self.factory) as session:
            yield session
