"""Data a database refuses is a business failure of the activity, never something to retry (issue 10 §1).

An effect that PostgreSQL refuses because of the data it carries (SQLSTATE class 22: a number out of range, a
string too long, NUL in text; class 23: a duplicate, a missing referenced row, a NOT NULL or CHECK rule) would
fail the same way on every attempt: retried, its lifecycle would loop on it until the effect's deadline. The
interceptor turns such an error into a non-retryable `ApplicationError` typed as the API maps it
(core/errors.LIFECYCLE_ERROR_STATUS): the update fails at once with that type, and the API answers 409
`DUPLICATE_ENTRY` or 422 `VALIDATION_ERROR` in the contract's shape. Connection and server failures (classes
08, 40, 53, 57, …) stay retryable: they are not about the data."""

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.errors import refused_data

log = logging.getLogger("activities.failures")


def data_failure(exc: BaseException) -> ApplicationError | None:
    """The business failure `exc` stands for when the data caused it (core/errors.py), else None (retry)."""
    refused = refused_data(exc)
    if refused is None:
        return None
    return ApplicationError(refused.message, refused.details or {}, type=refused.code, non_retryable=True)


class _DataFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except (DBAPIError, UnicodeError) as exc:
            failure = data_failure(exc)
            if failure is None:
                raise
            info = activity.info()
            log.warning("%s of %s refused by the database, not retried: %s", info.activity_type,
                        info.workflow_id, getattr(exc, "orig", None) or exc)
            raise failure from None  # the history keeps neither the statement nor its values


class DataFailureInterceptor(Interceptor):
    """Activities fail without retry when the database refuses their data (see the module's docstring)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DataFailures(next)
