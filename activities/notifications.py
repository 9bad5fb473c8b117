"""Delivers the notification outbox over SMTP: a regular activity run by the `notification-dispatch` schedule.

Each row is locked (`FOR UPDATE SKIP LOCKED`), sent, and its status committed before the next row is taken,
so concurrent or retried runs never send the same row twice (a crash between an accepted send and the commit
can still resend that one row: SMTP has no idempotency; its Message-ID is the row's uid so clients can
deduplicate). With e-mail disabled the rows stay `pending` (recorded, not sent) and the run sends nothing."""

import logging
import smtplib
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.base import Effects
from core.settings import Settings, get_settings
from dto.notifications import DELIVER_NOTIFICATIONS
from models.notifications import Notification
from services import notifications

log = logging.getLogger(__name__)

BATCH = 10  # candidate rows read per query; each is then locked and sent on its own
BUDGET_SECONDS = 40.0  # stop taking rows well inside the activity's 60 s start-to-close timeout
ERROR_CHARS = 1000
UNREACHABLE = (ConnectionError, TimeoutError, socket.gaierror, smtplib.SMTPConnectError,
               smtplib.SMTPServerDisconnected)


def _due() -> ColumnElement[bool]:
    """Never tried, or failed with a retry whose time has come."""
    return or_(Notification.status == "pending",
               and_(Notification.status == "failed", Notification.next_attempt_at.is_not(None),
                    Notification.next_attempt_at <= func.now()))


class NotificationActivities(Effects):
    def __init__(self, factory: sessionmaker[Session], settings: Settings | None = None) -> None:
        super().__init__(factory)
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def all(self) -> list[Callable[..., Any]]:
        return [self.deliver_notifications]

    @activity.defn(name=DELIVER_NOTIFICATIONS.name)
    def deliver_notifications(self, limit: int) -> int:
        """Send up to `limit` due notifications; answers how many were sent."""
        settings = self.settings
        if not settings.email_enabled:
            return 0
        sent = failed = taken = 0
        after = 0
        deadline = time.monotonic() + BUDGET_SECONDS
        while taken < limit and time.monotonic() < deadline:
            with self.factory() as session:
                ids = list(session.scalars(select(Notification.id).where(_due(), Notification.id > after)
                                           .order_by(Notification.id).limit(min(BATCH, limit - taken))))
            if not ids:
                break
            for row_id in ids:
                if time.monotonic() >= deadline:
                    break
                after = row_id
                if activity.in_activity():
                    activity.heartbeat(row_id)
                outcome = self._deliver(row_id, settings)
                if outcome is None:  # another run holds it, or it is no longer due
                    continue
                taken += 1
                if outcome is True:
                    sent += 1
                    continue
                failed += 1
                if isinstance(outcome, UNREACHABLE):  # the server is down: the other rows wait for the next run
                    log.warning("SMTP server %s:%s unreachable: %s", settings.smtp_host, settings.smtp_port, outcome)
                    return sent
        if sent or failed:
            log.info("notifications: %d sent, %d failed", sent, failed)
        return sent

    def _deliver(self, row_id: int, settings: Settings) -> bool | Exception | None:
        """One row in its own transaction: True when sent, the exception when the send failed, None when the
        row was not taken. The status is committed right after the send."""
        with self.bare_transaction() as session:
            row = session.scalars(select(Notification).where(Notification.id == row_id, _due())
                                  .with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            domain = settings.smtp_from.rpartition("@")[2] or "localhost"
            row.attempts += 1
            try:
                notifications.send(settings, to=row.recipient_email, subject=row.subject, body=row.body,
                            message_id=f"<{row.uid}@{domain}>")
            except Exception as exc:  # any failure of this message is recorded on its row
                row.status, row.error = "failed", f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
                retry = row.attempts < settings.notification_max_attempts
                delay = timedelta(seconds=settings.notification_retry_seconds * 2 ** (row.attempts - 1))
                row.next_attempt_at = func.now() + delay if retry else None  # type: ignore[assignment]
                return exc
            row.status, row.error, row.next_attempt_at = "sent", None, None
            row.sent_at = func.now()  # type: ignore[assignment]
            return True
