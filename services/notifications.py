"""The notification outbox: every notification is a row (idempotent by key), rendered from templates."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.mail import render
from core.permissions import parse_role
from models.approvals import Notification
from models.identity import User


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
