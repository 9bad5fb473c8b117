"""Bookkeeping that makes retries harmless: idempotency keys, applied operations, the serial registry."""

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class IdempotencyKey(Base):
    """A client's `Idempotency-Key` for a create: the same key returns the same entity."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(250))  # `<user id>:<the client's key>`: a key is its user's own
    entity_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotentRequest(Base):
    """A write a client sent with an `Idempotency-Key` (middleware/idempotency.py): the request's fingerprint and, once
    it succeeded, its answer, which a retry with the same key and request gets again."""

    __tablename__ = "idempotent_requests"

    principal: Mapped[str] = mapped_column(String(60), primary_key=True)  # `user:<id>`
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path, query and body
    status: Mapped[int | None]  # None while the first request runs
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    # Set in the transaction of the first request's direct write, so a retry after the first died between its
    # commit and its kept answer never writes again.
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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


class WorkerHeartbeat(Base):
    """A worker process's last sign of life (core/heartbeat.py); readiness reads the newest of its task queue."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_queue: Mapped[str] = mapped_column(String(200), index=True)
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int]
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DocumentSequence(Base):
    """The last number used per prefix and period: gap-free, concurrency-safe document numbers."""

    __tablename__ = "document_sequences"

    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
