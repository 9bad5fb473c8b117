"""Document numbers (`PO-20260122-000001`, `GRN-…`, `NCR-2026-001`) from a sequence table: gap-free per
prefix and year, safe under concurrency (the row is locked by the upsert until the transaction ends)."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.timeutil import utcnow

NEXT = text("""
    INSERT INTO document_sequences (prefix, period, last_value) VALUES (:prefix, :period, 1)
    ON CONFLICT (prefix, period) DO UPDATE SET last_value = document_sequences.last_value + 1
    RETURNING last_value
""")


def next_value(session: Session, prefix: str, period: str) -> int:
    return int(session.execute(NEXT, {"prefix": prefix, "period": period}).scalar_one())


def dated_number(session: Session, prefix: str) -> str:
    """`PREFIX-YYYYMMDD-NNNNNN`, counted per year."""
    now = utcnow()
    return f"{prefix}-{now:%Y%m%d}-{next_value(session, prefix, f'{now:%Y}'):06d}"


def yearly_number(session: Session, prefix: str, width: int = 3) -> str:
    """`PREFIX-YYYY-NNN`."""
    year = f"{utcnow():%Y}"
    return f"{prefix}-{year}-{next_value(session, prefix, year):0{width}d}"
