"""Battery-pack production effects: each activity is one DB transaction, harmless to retry. Each answers a
small result (id, status, version, what the workflow keeps); the API reads bodies from PostgreSQL."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from temporalio import activity

from activities.base import Effects
from dto.production import (
    BATCH_PROGRESS,
    COMPLETE_BATCH,
    CREATE_BATCH,
    CREATE_PACK,
    PACK_SNAPSHOT,
    SEAL_MODULE,
    SEAL_PACK,
    SET_DISPOSITION,
    START_BATCH,
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


class ProductionActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.create_batch, self.start_batch, self.complete_batch, self.seal_module, self.batch_progress,
                self.create_pack, self.seal_pack, self.set_disposition, self.pack_snapshot]

    def _once(self, effect: Effect, apply: Callable[[Session], T], current: Callable[[Session], T]) -> T:
        """Apply `effect` once: if its key was already committed, answer the record's current result instead."""
        with self.transaction() as session:
            if not claim_operation(session, effect.op_key):
                activity.logger.info("effect %s already applied", effect.op_key)
                return current(session)
            return apply(session)

    @activity.defn(name=CREATE_BATCH.name)
    def create_batch(self, request: CreateBatch) -> BatchResult:
        with self.transaction() as session:
            return production.create_batch(session, request)

    @activity.defn(name=START_BATCH.name)
    def start_batch(self, effect: Effect) -> BatchResult:
        return self._once(effect, lambda s: production.start_batch(s, effect.entity_id, effect.transition),
                          lambda s: get_batch_result(s, effect.entity_id))

    @activity.defn(name=COMPLETE_BATCH.name)
    def complete_batch(self, effect: Effect) -> BatchResult:
        return self._once(effect, lambda s: production.complete_batch(s, effect.entity_id, effect.transition),
                          lambda s: get_batch_result(s, effect.entity_id))

    @activity.defn(name=SEAL_MODULE.name)
    def seal_module(self, effect: Effect) -> ModuleResult:
        module_id = int(effect.transition.payload["module_id"])
        return self._once(effect, lambda s: production.seal_module(s, module_id, effect.transition),
                          lambda s: get_module_result(s, module_id))

    @activity.defn(name=BATCH_PROGRESS.name)
    def batch_progress(self, batch_id: int) -> BatchProgress:
        with self.bare_transaction() as session:
            return batch_progress(session, batch_id)

    @activity.defn(name=CREATE_PACK.name)
    def create_pack(self, request: CreatePack) -> PackResult:
        with self.transaction() as session:
            return production.create_pack(session, request)

    @activity.defn(name=SEAL_PACK.name)
    def seal_pack(self, effect: Effect) -> PackResult:
        return self._once(effect, lambda s: production.seal_pack(s, effect.entity_id, effect.transition),
                          lambda s: get_pack_result(s, effect.entity_id))

    @activity.defn(name=SET_DISPOSITION.name)
    def set_disposition(self, effect: Effect) -> PackResult:
        return self._once(effect, lambda s: production.set_disposition(s, effect.entity_id, effect.transition),
                          lambda s: get_pack_result(s, effect.entity_id))

    @activity.defn(name=PACK_SNAPSHOT.name)
    def pack_snapshot(self, pack_id: int) -> PackSnapshot:
        with self.bare_transaction() as session:
            return production.pack_snapshot(session, pack_id)
