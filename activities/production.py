"""Battery-pack production effects: each activity is one DB transaction, harmless to retry. Each answers a
small result (id, status, version, what the workflow keeps); the API reads bodies from PostgreSQL."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import session_scope
from core.errors import AppError
from dto.production import (
    BatchProgress,
    BatchResult,
    CreateBatch,
    CreatePack,
    Effect,
    ModuleResult,
    PackResult,
    PackSnapshot,
)
from services.common.guards import claim_operation
from services.production import effects as production
from services.production.reads import batch_progress, get_batch_result, get_module_result, get_pack_result

T = TypeVar("T")


class ProductionActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_batch, self.start_batch, self.complete_batch, self.seal_module, self.batch_progress,
                self.create_pack, self.seal_pack, self.set_disposition, self.pack_snapshot]

    def _once(self, effect: Effect, apply: Callable[[Session], T], current: Callable[[Session], T]) -> T:
        """Apply `effect` once: if its key was already committed, answer the record's current result instead."""
        with business_errors(), session_scope(self.factory) as session:
            if not claim_operation(session, effect.op_key):
                activity.logger.info("effect %s already applied", effect.op_key)
                return current(session)
            return apply(session)

    @activity.defn(name="create_batch")
    def create_batch(self, request: CreateBatch) -> BatchResult:
        with business_errors(), session_scope(self.factory) as session:
            return production.create_batch(session, request)

    @activity.defn(name="start_batch")
    def start_batch(self, effect: Effect) -> BatchResult:
        return self._once(effect, lambda s: production.start_batch(s, effect.entity_id, effect.transition),
                          lambda s: get_batch_result(s, effect.entity_id))

    @activity.defn(name="complete_batch")
    def complete_batch(self, effect: Effect) -> BatchResult:
        return self._once(effect, lambda s: production.complete_batch(s, effect.entity_id, effect.transition),
                          lambda s: get_batch_result(s, effect.entity_id))

    @activity.defn(name="seal_module")
    def seal_module(self, effect: Effect) -> ModuleResult:
        module_id = int(effect.transition.payload["module_id"])
        return self._once(effect, lambda s: production.seal_module(s, module_id, effect.transition),
                          lambda s: get_module_result(s, module_id))

    @activity.defn(name="batch_progress")
    def batch_progress(self, batch_id: int) -> BatchProgress:
        with session_scope(self.factory) as session:
            return batch_progress(session, batch_id)

    @activity.defn(name="create_pack")
    def create_pack(self, request: CreatePack) -> PackResult:
        with business_errors(), session_scope(self.factory) as session:
            return production.create_pack(session, request)

    @activity.defn(name="seal_pack")
    def seal_pack(self, effect: Effect) -> PackResult:
        return self._once(effect, lambda s: production.seal_pack(s, effect.entity_id, effect.transition),
                          lambda s: get_pack_result(s, effect.entity_id))

    @activity.defn(name="set_disposition")
    def set_disposition(self, effect: Effect) -> PackResult:
        return self._once(effect, lambda s: production.set_disposition(s, effect.entity_id, effect.transition),
                          lambda s: get_pack_result(s, effect.entity_id))

    @activity.defn(name="pack_snapshot")
    def pack_snapshot(self, pack_id: int) -> PackSnapshot:
        with session_scope(self.factory) as session:
            return production.pack_snapshot(session, pack_id)


@contextmanager
def business_errors() -> Iterator[None]:
    """Turn a business refusal (AppError) into a non-retryable ApplicationError of the same code."""
    try:
        yield
    except AppError as exc:
        raise ApplicationError(exc.message, exc.details, type=exc.code, non_retryable=True) from exc
