from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin


class AuditEntry(IdMixin, Base):
    """`system_audit_trail`: one row per data-changing call, written in the same transaction."""

    __tablename__ = "system_audit_trail"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        Index("ix_audit_timestamp", "timestamp"),
    )

    actor_id: Mapped[int | None] = mapped_column(index=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    action_type: Mapped[str] = mapped_column(String(80), index=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    payload_diff: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(100))  # the caller's, when the change had one
    request: Mapped[str | None] = mapped_column(String(300))  # `POST /api/locations`, or `<workflow id>: <activity>`
