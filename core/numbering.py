"""Document numbers (`PO-20260122-000001`, `GRN-…`, `NCR-2026-001`) from a sequence table: gap-free per
prefix and year, safe under concurrency (the row is locked by the upsert until the transaction ends).

Because the sequence row stays locked until the commit, every transaction taking a number of the same
prefix waits for the one holding it. A document that does real work in its transaction (stock postings)
therefore inserts its header under a `provisional` number, does all its work (lines, stock row locks,
ledger), and takes its real number as the last write before the commit: the sequence row is then held
only for the commit, a transaction that fails before that consumes no number, and numbers still rise in
commit order. Taking the sequence last is also the lock order: stock rows first, sequence rows last."""

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.timeutil import utcnow

NEXT = text("""
    INSERT INTO document_sequences (prefix, period, last_value) VALUES (:prefix, :period, 1)
    ON CONFLICT (prefix, period) DO UPDATE SET last_value = document_sequences.last_value + 1
    RETURNING last_value
""")
PROVISIONAL_MARK = "~"


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


def provisional(prefix: str) -> str:
    """A unique stand-in (`~DEL-<32 hex>`, 37 characters for a 3-letter prefix) for a document number taken
    later in the same transaction; it takes no lock and is never committed."""
    return f"{PROVISIONAL_MARK}{prefix}-{uuid.uuid4().hex}"
