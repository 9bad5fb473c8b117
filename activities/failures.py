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

import psycopg
from sqlalchemy.exc import DBAPIError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

log = logging.getLogger("activities.failures")

UNIQUE_VIOLATION = "23505"
DUPLICATE_MESSAGE = "A record with these values already exists"
RULE_MESSAGE = "The request refers to a record that does not exist or breaks a rule of the data"
VALUE_MESSAGE = "A value in the request is out of range or not valid text"


def data_failure(exc: BaseException) -> ApplicationError | None:
    """The business failure `exc` stands for when the data caused it, else None (retry as usual)."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        code = getattr(orig, "sqlstate", None) or ""
        if code == UNIQUE_VIOLATION:
            return _failure(DUPLICATE_MESSAGE, "DUPLICATE_ENTRY", code)
        if code.startswith("23") or isinstance(orig, psycopg.IntegrityError):
            return _failure(RULE_MESSAGE, "VALIDATION_ERROR", code)
        # Class 22, or psycopg's own refusal before sending (NUL in a string: a DataError without a code).
        if code.startswith("22") or isinstance(orig, psycopg.DataError):
            return _failure(VALUE_MESSAGE, "VALIDATION_ERROR", code)
        return None
    if isinstance(exc, UnicodeError):  # text UTF-8 cannot encode (an unpaired surrogate)
        return _failure(VALUE_MESSAGE, "VALIDATION_ERROR", "22021")
    return None


def _failure(message: str, error_type: str, code: str) -> ApplicationError:
    details: dict[str, Any] = {"sqlstate": code} if code else {}
    return ApplicationError(message, details, type=error_type, non_retryable=True)


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
