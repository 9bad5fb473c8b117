"""Client idempotency keys for creates: the same `Idempotency-Key` always gets the same entity id."""

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from models.operations import IdempotencyKey


def known_id(session: Session, scope: str, idempotency_key: str | None) -> int | None:
    """The id an earlier request with this `Idempotency-Key` reserved, if any."""
    if not idempotency_key:
        return None
    found = session.scalar(select(IdempotencyKey.entity_id).where(IdempotencyKey.scope == scope,
                                                                  IdempotencyKey.key == idempotency_key))
    return None if found is None else int(found)


def reserve_id(session: Session, table: str, scope: str, idempotency_key: str | None) -> int:
    """The id a new entity will have; the same `Idempotency-Key` always gets the same id, even when two
    requests with it race (the loser waits for the winner's key and answers with its id)."""
    known = known_id(session, scope, idempotency_key)
    if known is not None:
        return known
    new_id = int(session.scalar(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")) or 0)
    if idempotency_key:
        claimed = session.execute(pg_insert(IdempotencyKey).values(scope=scope, key=idempotency_key, entity_id=new_id)
                                  .on_conflict_do_nothing().returning(IdempotencyKey.entity_id)).first()
        if claimed is None:
            return known_id(session, scope, idempotency_key) or 0
    return new_id
