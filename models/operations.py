"""Bookkeeping that makes retries harmless: idempotency keys, applied operations, the serial registry."""

from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class IdempotencyKey(Base):
    """A client's `Idempotency-Key` for a create: the same key returns the same entity."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    entity_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AppliedOperation(Base):
    """An effect an activity committed, keyed by a business key made in the workflow."""

    __tablename__ = "applied_operations"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SerialNumber(Base):
    """Every cell, module and pack serial in the system: unique across all of them."""

    __tablename__ = "serial_numbers"

    serial: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
