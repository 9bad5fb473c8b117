"""The pack lifecycle (`pack-{id}`): DRAFT -> IN_PROGRESS -> READY_FOR_EOL -> FINALIZED.

Binding modules is a guarded direct write (it moves DRAFT to IN_PROGRESS); the API then signals
`assembly_changed` so the workflow shows the fresh state. Seal and disposition are updates. Effects and
updates carry a `PackResult` (id, status, version and what the workflow shows), never the rendered pack: the
API reads that from PostgreSQL."""

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.production import (
        CREATE_PACK,
        PACK_SNAPSHOT,
        SEAL_PACK,
        SET_DISPOSITION,
        CreatePack,
        Disposition,
        Effect,
        PackInput,
        PackResult,
        PackState,
        PackStatus,
        Transition,
    )
    from workflows.lifecycle import (
        continue_as_new_due,
        effect,
        op_key,
        require_permission,
        require_state,
        show,
    )
    from workflows.production.batch import ProductionBatchWorkflow, batch_workflow_id

ASSEMBLING = (PackStatus.DRAFT, PackStatus.IN_PROGRESS)
BATCH_NEWS_AFTER_ANSWER = "batch-news-after-answer"


def pack_workflow_id(pack_id: int) -> str:
    return f"pack-{pack_id}"


@workflow.defn(name="Pack")
class PackWorkflow:
    @workflow.init
    def __init__(self, input: PackInput) -> None:
        self.state = input.state or PackState(pack_id=input.pack_id)
        self.lock = asyncio.Lock()
        self.snapshot_stale = False
        self.batch_news = False
        self.abandoned = False

    @workflow.run
    async def run(self, input: PackInput) -> PackState:
        await workflow.wait_condition(lambda: self.state.created or self.abandoned)
        while not self.abandoned and (self.state.status != PackStatus.FINALIZED or self.batch_news):
            await workflow.wait_condition(
                lambda: self.snapshot_stale or self.batch_news or self.state.status == PackStatus.FINALIZED
                or continue_as_new_due())
            if self.batch_news:
                self.batch_news = False
                await self._tell_batch()
            if self.snapshot_stale:
                await self._refresh()
            if continue_as_new_due():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(PackInput(pack_id=self.state.pack_id, state=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    @workflow.update
    async def create(self, request: CreatePack) -> PackResult:
        async with self.lock:
            try:
                result = await effect(CREATE_PACK, request)
            except Exception:
                self.abandoned = not self.state.created
                raise
            first_time = not self.state.created
            self.state.created, self.state.batch_id = True, result.batch_id
            self._absorb(result)
        if first_time:
            await self._news_for_batch()
        return result

    @create.validator
    def _validate_create(self, request: CreatePack) -> None:
        require_permission(request.actor, Perm.PACK_ASSEMBLE)

    @workflow.update
    async def seal(self, transition: Transition) -> PackResult:
        async with self.lock:
            return self._absorb(await effect(SEAL_PACK, self._effect(transition)))

    @seal.validator
    def _validate_seal(self, transition: Transition) -> None:
        require_permission(transition.actor, Perm.PACK_ASSEMBLE)
        require_state(self.state.status, ASSEMBLING, "pack", self.state.pack_id, "seal")

    @workflow.update
    async def disposition(self, transition: Transition) -> PackResult:
        async with self.lock:
            result = self._absorb(await effect(SET_DISPOSITION, self._effect(transition)))
        await self._news_for_batch()
        return result

    @disposition.validator
    def _validate_disposition(self, transition: Transition) -> None:
        require_permission(transition.actor, Perm.PACK_DISPOSITION)
        require_state(self.state.status, (PackStatus.READY_FOR_EOL,), "pack", self.state.pack_id, "disposition")

    @workflow.signal
    def assembly_changed(self) -> None:
        self.snapshot_stale = True

    def _effect(self, transition: Transition) -> Effect:
        return Effect(entity_id=self.state.pack_id, op_key=op_key(), transition=transition)

    def _absorb(self, result: PackResult) -> PackResult:
        self.state.status, self.state.disposition, self.state.module_count = (
            result.status, result.disposition, result.module_count)
        self._show()
        return result

    async def _refresh(self) -> None:
        self.snapshot_stale = False
        async with self.lock:
            snapshot = await effect(PACK_SNAPSHOT, self.state.pack_id)
        self.state.status, self.state.disposition = snapshot.status, snapshot.disposition
        self.state.module_count = snapshot.module_count
        self._show()

    async def _news_for_batch(self) -> None:
        """The batch recounts its progress when a pack is added or finalized. Since the patch, the
        signal goes from the main loop after the update answered, not before (one round trip less)."""
        if workflow.patched(BATCH_NEWS_AFTER_ANSWER):
            self.batch_news = True
        else:
            await self._tell_batch()

    async def _tell_batch(self) -> None:
        if self.state.batch_id is None:
            return
        batch: workflow.ExternalWorkflowHandle[ProductionBatchWorkflow] = workflow.get_external_workflow_handle_for(
            ProductionBatchWorkflow.run, batch_workflow_id(self.state.batch_id))
        try:
            await batch.signal(ProductionBatchWorkflow.assembly_changed)
        except Exception:  # noqa: BLE001 - a closed batch needs no progress news
            workflow.logger.warning("batch %s did not take the progress signal", self.state.batch_id)

    def _show(self) -> None:
        waiting = {PackStatus.DRAFT: "waiting for modules", PackStatus.IN_PROGRESS: "assembling; waiting for seal",
                   PackStatus.READY_FOR_EOL: "waiting for QA disposition", PackStatus.FINALIZED: "done"}
        quarantined = " (QUARANTINE)" if self.state.disposition == Disposition.QUARANTINE else ""
        show("pack", self.state.pack_id, self.state.status,
             f"**{self.state.status}**{quarantined} — {waiting[self.state.status]}\n\n"
             f"modules {self.state.module_count} · batch {self.state.batch_id}")
