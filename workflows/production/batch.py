"""The production batch lifecycle (`production-batch-{id}`): DRAFT -> IN_PROGRESS -> COMPLETED.

The batch owns its modules' sealing, so it knows its progress; packs tell it when they change. Effects and
updates carry small results (`BatchResult`, `ModuleResult`); the API reads bodies from PostgreSQL."""

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.permissions import Perm
    from dto.production import (
        BATCH_PROGRESS,
        COMPLETE_BATCH,
        CREATE_BATCH,
        SEAL_MODULE,
        START_BATCH,
        BatchInput,
        BatchProgress,
        BatchResult,
        BatchState,
        BatchStatus,
        CreateBatch,
        Effect,
        ModuleResult,
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


def batch_workflow_id(batch_id: int) -> str:
    return f"production-batch-{batch_id}"


@workflow.defn(name="ProductionBatch")
class ProductionBatchWorkflow:
    @workflow.init
    def __init__(self, input: BatchInput) -> None:
        self.state = input.state or BatchState(batch_id=input.batch_id)
        self.lock = asyncio.Lock()
        self.progress_stale = False
        self.abandoned = False

    @workflow.run
    async def run(self, input: BatchInput) -> BatchState:
        await workflow.wait_condition(lambda: self.state.created or self.abandoned)
        while not self.abandoned and self.state.status != BatchStatus.COMPLETED:
            await workflow.wait_condition(
                lambda: self.progress_stale or self.state.status == BatchStatus.COMPLETED or continue_as_new_due())
            if self.progress_stale:
                await self._refresh_progress()
            if continue_as_new_due():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(BatchInput(batch_id=self.state.batch_id, state=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    @workflow.update
    async def create(self, request: CreateBatch) -> BatchResult:
        async with self.lock:
            try:
                result = await effect(CREATE_BATCH, request)
            except Exception:
                self.abandoned = not self.state.created
                raise
            self.state.created = True
            return self._absorb(result)

    @create.validator
    def _validate_create(self, request: CreateBatch) -> None:
        require_permission(request.actor, Perm.BATCH_CREATE)

    @workflow.update
    async def start(self, transition: Transition) -> BatchResult:
        async with self.lock:
            return self._absorb(await effect(START_BATCH, self._effect(transition)))

    @start.validator
    def _validate_start(self, transition: Transition) -> None:
        require_permission(transition.actor, Perm.BATCH_START)
        require_state(self.state.status, (BatchStatus.DRAFT,), "batch", self.state.batch_id, "start")

    @workflow.update
    async def complete(self, transition: Transition) -> BatchResult:
        async with self.lock:
            return self._absorb(await effect(COMPLETE_BATCH, self._effect(transition)))

    @complete.validator
    def _validate_complete(self, transition: Transition) -> None:
        require_permission(transition.actor, Perm.BATCH_COMPLETE)
        require_state(self.state.status, (BatchStatus.IN_PROGRESS,), "batch", self.state.batch_id, "complete")

    @workflow.update
    async def seal_module(self, transition: Transition) -> ModuleResult:
        async with self.lock:
            module = await effect(SEAL_MODULE, self._effect(transition))
        self.progress_stale = True
        return module

    @seal_module.validator
    def _validate_seal_module(self, transition: Transition) -> None:
        require_permission(transition.actor, Perm.MODULE_ASSEMBLE)
        require_state(self.state.status, (BatchStatus.IN_PROGRESS,), "batch", self.state.batch_id,
                      "seal a module of")

    @workflow.signal
    def assembly_changed(self) -> None:
        """A module or pack of this batch was added, bound or finalized: progress needs a fresh count."""
        self.progress_stale = True

    @workflow.query
    def progress(self) -> BatchProgress:
        return self.state.progress

    def _effect(self, transition: Transition) -> Effect:
        return Effect(entity_id=self.state.batch_id, op_key=op_key(), transition=transition)

    def _absorb(self, result: BatchResult) -> BatchResult:
        self.state.status, self.state.progress = result.status, result.progress
        self._show()
        return result

    async def _refresh_progress(self) -> None:
        self.progress_stale = False
        async with self.lock:
            self.state.progress = await effect(BATCH_PROGRESS, self.state.batch_id)
        self._show()

    def _show(self) -> None:
        p = self.state.progress
        waiting = {BatchStatus.DRAFT: "waiting to be started",
                   BatchStatus.IN_PROGRESS: "waiting for assembly and EOL, then completion",
                   BatchStatus.COMPLETED: "done"}[self.state.status]
        show("batch", self.state.batch_id, self.state.status,
             f"**{self.state.status}** — {waiting}\n\n"
             f"modules sealed {p.modules_sealed}/{p.modules_total} · packs finalized "
             f"{p.packs_finalized}/{p.packs_total} (pass {p.packs_passed}, fail {p.packs_failed}, "
             f"quarantine {p.packs_quarantined})")
