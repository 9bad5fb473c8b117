"""Sends one e-mail over SMTP (the settings' server, optional STARTTLS and login); any failure raises."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from core.settings import Settings

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
