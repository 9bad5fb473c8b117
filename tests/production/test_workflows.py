"""The batch and pack workflows on the real dev server, with their activities replaced by fakes
registered under the same names: validators, progress, signals between lifecycles, continue-as-new."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from core.search_attributes import ENTITY_STATUS
from dto.identity import Actor
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
    BatchInput,
    BatchProgress,
    BatchState,
    BatchStatus,
    BatchView,
    CreateBatch,
    CreatePack,
    Effect,
    ModuleStatus,
    ModuleView,
    PackInput,
    PackSnapshot,
    PackStatus,
    PackView,
    SkuStatus,
    SkuView,
    Transition,
)
from tests.conftest import eventually
from workflows.production.batch import ProductionBatchWorkflow
from workflows.production.pack import PackWorkflow

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SKU = SkuView(id=1, uid="u", sku_code="S", name="S", cells_per_module=2, modules_per_pack=1, status=SkuStatus.ACTIVE,
              version=2, created_at=NOW, updated_at=NOW)
PRODUCTION = Actor(id=1, role="PRODUCTION")
QA = Actor(id=2, role="qa")


class FakeRecords:
    """In-memory stand-ins for the production activities, counting what was applied."""

    def __init__(self) -> None:
        self.batch_status = BatchStatus.DRAFT
        self.pack_status = PackStatus.IN_PROGRESS
        self.progress = BatchProgress()
        self.calls: list[str] = []

    def batch(self, batch_id: int) -> BatchView:
        return BatchView(id=batch_id, uid="u", batch_number="B", sku_id=1, sku=SKU, target_quantity=1,
                         status=self.batch_status, progress=self.progress, version=1, created_at=NOW, updated_at=NOW)

    def pack(self, pack_id: int) -> PackView:
        return PackView(id=pack_id, uid="u", serial_number="P", batch_id=self.batch_id, sku=SKU,
                        status=self.pack_status, module_count=1, version=1, created_at=NOW, updated_at=NOW)

    batch_id = 0

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=CREATE_BATCH.name)
        def create_batch(request: CreateBatch) -> BatchView:
            self.calls.append(CREATE_BATCH.name)
            self.batch_id = request.batch_id
            return self.batch(request.batch_id)

        @activity.defn(name=START_BATCH.name)
        def start_batch(effect: Effect) -> BatchView:
            self.calls.append(START_BATCH.name)
            self.batch_status = BatchStatus.IN_PROGRESS
            return self.batch(effect.entity_id)

        @activity.defn(name=COMPLETE_BATCH.name)
        def complete_batch(effect: Effect) -> BatchView:
            self.calls.append(COMPLETE_BATCH.name)
            if self.progress.packs_passed == 0:
                raise ApplicationError("no pack has passed EOL", {"unmet": ["pass"]}, type="WORKFLOW_VIOLATION",
                                       non_retryable=True)
            self.batch_status = BatchStatus.COMPLETED
            return self.batch(effect.entity_id)

        @activity.defn(name=SEAL_MODULE.name)
        def seal_module(effect: Effect) -> ModuleView:
            self.calls.append(SEAL_MODULE.name)
            self.progress.modules_total += 1
            self.progress.modules_sealed += 1
            return ModuleView(id=int(effect.transition.payload["module_id"]), uid="u", serial_number="M",
                              batch_id=effect.entity_id, status=ModuleStatus.SEALED, cell_count=2, version=3,
                              created_at=NOW, updated_at=NOW)

        @activity.defn(name=BATCH_PROGRESS.name)
        def batch_progress(batch_id: int) -> BatchProgress:
            self.calls.append(BATCH_PROGRESS.name)
            return self.progress

        @activity.defn(name=CREATE_PACK.name)
        def create_pack(request: CreatePack) -> PackView:
            self.calls.append(CREATE_PACK.name)
            self.progress.packs_total += 1
            return self.pack(request.pack_id)

        @activity.defn(name=SEAL_PACK.name)
        def seal_pack(effect: Effect) -> PackView:
            self.calls.append(SEAL_PACK.name)
            self.pack_status = PackStatus.READY_FOR_EOL
            return self.pack(effect.entity_id)

        @activity.defn(name=SET_DISPOSITION.name)
        def set_disposition(effect: Effect) -> PackView:
            self.calls.append(SET_DISPOSITION.name)
            self.pack_status = PackStatus.FINALIZED
            self.progress.packs_finalized += 1
            self.progress.packs_passed += 1
            return self.pack(effect.entity_id)

        @activity.defn(name=PACK_SNAPSHOT.name)
        def pack_snapshot(pack_id: int) -> PackSnapshot:
            self.calls.append(PACK_SNAPSHOT.name)
            return PackSnapshot(status=self.pack_status, module_count=1)

        return [create_batch, start_batch, complete_batch, seal_module, batch_progress, create_pack, seal_pack,
                set_disposition, pack_snapshot]


@pytest_asyncio.fixture
async def fake_worker(temporal_client: Client) -> AsyncIterator[tuple[str, FakeRecords]]:
    records = FakeRecords()
    task_queue = f"wf-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_client, task_queue=task_queue, workflows=[ProductionBatchWorkflow, PackWorkflow],
                      activities=records.activities(), activity_executor=ThreadPoolExecutor(4)):
        yield task_queue, records


def ids() -> tuple[int, int]:
    base = uuid.uuid4().int % 10**9
    return base, base + 1


async def new_batch(client: Client, task_queue: str, batch_id: int) -> WorkflowHandle[Any, BatchState]:
    """A created batch lifecycle on the fake worker's queue, and its handle."""
    start = WithStartWorkflowOperation(ProductionBatchWorkflow.run, BatchInput(batch_id=batch_id),
                                       id=f"production-batch-{batch_id}", task_queue=task_queue,
                                       id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    await client.execute_update_with_start_workflow(
        ProductionBatchWorkflow.create, CreateBatch(batch_id=batch_id, sku_id=1, target_quantity=1, actor=PRODUCTION),
        start_workflow_operation=start)
    return client.get_workflow_handle_for(ProductionBatchWorkflow.run, f"production-batch-{batch_id}")


def refusal(err: WorkflowUpdateFailedError) -> ApplicationError:
    assert isinstance(err.cause, ApplicationError), err.cause
    return err.cause


def step(action: str, actor: Actor = PRODUCTION, **payload: object) -> Transition:
    return Transition(action=action, actor=actor, payload=payload)


async def test_validator_refuses_illegal_transition_without_running_an_effect(temporal_client, fake_worker):
    task_queue, records = fake_worker
    batch_id, _ = ids()
    handle = await new_batch(temporal_client, task_queue, batch_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ProductionBatchWorkflow.complete, step("complete", Actor(id=3, role="SUPERVISOR")))
    assert refusal(refused.value).type == "WORKFLOW_VIOLATION"
    assert COMPLETE_BATCH.name not in records.calls


async def test_validator_checks_the_actor_permission(temporal_client, fake_worker):
    task_queue, records = fake_worker
    batch_id, _ = ids()
    handle = await new_batch(temporal_client, task_queue, batch_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ProductionBatchWorkflow.start, step("start", Actor(id=9, role="VIEW_ONLY")))
    assert refusal(refused.value).type == "ACCESS_DENIED"
    assert START_BATCH.name not in records.calls


async def test_business_refusal_from_the_effect_keeps_its_type_and_details(temporal_client, fake_worker):
    task_queue, records = fake_worker
    batch_id, _ = ids()
    handle = await new_batch(temporal_client, task_queue, batch_id)
    await handle.execute_update(ProductionBatchWorkflow.start, step("start"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ProductionBatchWorkflow.complete, step("complete", QA))
    assert refusal(refused.value).type == "WORKFLOW_VIOLATION"
    assert refusal(refused.value).details[0] == {"unmet": ["pass"]}
    assert (await handle.describe()).typed_search_attributes[ENTITY_STATUS] == "IN_PROGRESS"


async def test_pack_finalization_refreshes_batch_progress_and_batch_completes(temporal_client, fake_worker):
    task_queue, records = fake_worker
    batch_id, pack_id = ids()
    batch = await new_batch(temporal_client, task_queue, batch_id)
    await batch.execute_update(ProductionBatchWorkflow.start, step("start"))
    await batch.execute_update(ProductionBatchWorkflow.seal_module, step("seal", module_id=5))
    start = WithStartWorkflowOperation(PackWorkflow.run, PackInput(pack_id=pack_id), id=f"pack-{pack_id}",
                                       task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    await temporal_client.execute_update_with_start_workflow(
        PackWorkflow.create, CreatePack(pack_id=pack_id, batch_id=batch_id, serial_number="P", actor=PRODUCTION),
        start_workflow_operation=start)
    pack = temporal_client.get_workflow_handle(f"pack-{pack_id}")
    await pack.execute_update(PackWorkflow.seal, step("seal"))
    await pack.execute_update(PackWorkflow.disposition, step("disposition", QA, disposition="PASS"))
    assert await pack.result() is not None
    assert (await pack.describe()).typed_search_attributes[ENTITY_STATUS] == "FINALIZED"

    async def batch_saw_the_pass() -> bool:
        return (await batch.query(ProductionBatchWorkflow.progress)).packs_passed == 1

    await eventually(batch_saw_the_pass)
    view = await batch.execute_update(ProductionBatchWorkflow.complete, step("complete", QA))
    assert view.status == BatchStatus.COMPLETED
    final = await batch.result()
    assert final.status == BatchStatus.COMPLETED and final.progress.modules_sealed == 1


async def test_batch_continues_as_new_and_keeps_its_state(temporal_client, fake_worker):
    task_queue, records = fake_worker
    batch_id, _ = ids()
    batch = await new_batch(temporal_client, task_queue, batch_id)
    first_run = (await batch.describe()).run_id
    await batch.execute_update(ProductionBatchWorkflow.start, step("start"))
    for module_id in range(60):
        await batch.execute_update(ProductionBatchWorkflow.seal_module, step("seal", module_id=module_id))
    later = temporal_client.get_workflow_handle(f"production-batch-{batch_id}")
    assert (await later.describe()).run_id != first_run
    progress = await later.query(ProductionBatchWorkflow.progress)
    assert progress.modules_sealed == 60
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await later.execute_update(ProductionBatchWorkflow.start, step("start"))
    assert refusal(refused.value).type == "WORKFLOW_VIOLATION"  # still knows it is IN_PROGRESS
