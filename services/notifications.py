"""The notification outbox: every notification is a row (idempotent by key), rendered from templates; and sending
one e-mail over SMTP (the settings' server, optional STARTTLS and login; any failure raises)."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.mail import render
from core.permissions import parse_role
from core.settings import Settings
from models.identity import User
from models.notifications import Notification


def users_with_role(session: Session, role: str) -> list[User]:
    parsed = parse_role(role)
    if parsed is None:
        return []
    return list(session.scalars(select(User).where(User.role == parsed.value, User.is_active.is_(True))))


def enqueue(session: Session, *, key: str, kind: str, recipients: list[User], reference_type: str | None,
            reference_id: int | None, **values: Any) -> int:
    """Record one notification per recipient (one statement for all of them); the same key and recipient are
    recorded once."""
    if not recipients:
        return 0
    subject, body = render(kind, **values)
    session.execute(pg_insert(Notification).values([
        {"key": f"{key}:{user.id}", "kind": kind, "recipient_user_id": user.id, "recipient_email": user.email,
         "subject": subject, "body": body, "status": "pending", "reference_type": reference_type,
         "reference_id": reference_id} for user in recipients]).on_conflict_do_nothing())
    return len(recipients)


SMTP_TIMEOUT_SECONDS = 10.0


def message(settings: Settings, *, to: str, subject: str, body: str, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def send(settings: Settings, *, to: str, subject: str, body: str, message_id: str | None = None,
         timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
    """Deliver one message to the SMTP server; raises `OSError` / `smtplib.SMTPException` when it is not
    accepted (server unreachable, refused sender or recipient, failed login or STARTTLS)."""
    msg = message(settings, to=to, subject=subject, body=body, message_id=message_id)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        refused = smtp.send_message(msg)
    if refused:  # only some recipients refused; with one recipient send_message raises instead
        raise smtplib.SMTPRecipientsRefused(refused)
