"""`/api/v1/batches`: production batches, each a `production-batch-{id}` workflow. A transition answers a small
result through Temporal; the batch it answers with is read from PostgreSQL afterwards."""

from typing import Annotated, Any

from fastapi import Depends, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId
from api.contracts.wire import IfMatch, VersionedBody, expected_version
from api.deps import CurrentUser, SessionDep, TemporalDep, actor_of, in_transaction, require
from api.lifecycle import create_with_start, idempotency_key, transition, update_id
from api.production.schemas import BatchCreate, BatchOut, ConsoleAnswer, ConsolePage, Page, listed, ok
from core.errors import AppError, workflow_violation
from core.permissions import Perm
from dto.production import BatchInput, BatchResult, BatchStatus, BatchView, CreateBatch, Transition
from services.common import idempotency
from services.identity import Principal
from services.production import effects as production
from services.production.reads import find_batch_view, get_batch_view, list_batches
from workflows.production.batch import ProductionBatchWorkflow, batch_workflow_id

router = dialect_router(Dialect.BATTERY_PACK, prefix="/api/v1/batches", tags=["battery-pack: batches"])


@router.get("", response_model=ConsolePage[BatchOut])
def list_all(session: SessionDep, _: CurrentUser, page: Annotated[Page, Depends()],
             status: BatchStatus | None = None, sku_id: DbId | None = None) -> Any:
    items, total = list_batches(session, page.offset, page.size, status, sku_id)
    return listed(items, total, page)


@router.get("/{batch_id}", response_model=ConsoleAnswer[BatchOut])
def get(batch_id: DbId, session: SessionDep, _: CurrentUser) -> Any:
    return ok(get_batch_view(session, batch_id))


def _prepare(session: Any, body: BatchCreate, key: str | None) -> tuple[int, BatchView | None]:
    """The batch's id, and the batch itself when a retried request already created it. The SKU check here
    only spares starting a lifecycle doomed to fail; the create effect checks again, authoritatively."""
    earlier = idempotency.known_id(session, "batch", key)
    if earlier is not None:
        return earlier, find_batch_view(session, earlier)
    production.active_sku(session, body.sku_id)
    return idempotency.reserve_id(session, "batches", "batch", key), None


@router.post("", status_code=201, response_model=ConsoleAnswer[BatchOut])
async def create(body: BatchCreate, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.BATCH_CREATE)) -> Any:
    key = idempotency_key(request)
    batch_id, created_before = await in_transaction(request, _prepare, body, key)
    if created_before is not None:
        return ok(created_before, status=201)
    await create_with_start(
        client, run=ProductionBatchWorkflow.run, start_input=BatchInput(batch_id=batch_id),
        workflow_id=batch_workflow_id(batch_id), create=ProductionBatchWorkflow.create,
        request=CreateBatch(batch_id=batch_id, sku_id=body.sku_id, batch_number=body.batch_number,
                            target_quantity=body.target_quantity, actor=actor_of(user)),
        result_type=BatchResult, entity_type="batch", entity_id=batch_id,
        summary=f"Production batch {batch_id} of SKU {body.sku_id}", update_key=f"create-batch-{batch_id}")
    return ok(await in_transaction(request, get_batch_view, batch_id), status=201)


async def _move(request: Request, client: Any, user: Principal, batch_id: int, action: str, update: Any,
                body: VersionedBody | None, if_match: str | None) -> Any:
    step = Transition(action=action, actor=actor_of(user), expected_version=expected_version(body, if_match))

    async def gone() -> AppError:
        batch = await in_transaction(request, get_batch_view, batch_id)
        return workflow_violation(f"Cannot {action} batch {batch_id} in status {batch.status}",
                                  {"id": batch_id, "status": batch.status})

    await transition(client, batch_workflow_id(batch_id), update, step, update_id(request, action), gone)
    return ok(await in_transaction(request, get_batch_view, batch_id))


@router.patch("/{batch_id}/start", response_model=ConsoleAnswer[BatchOut])
async def start(batch_id: DbId, request: Request, client: TemporalDep, if_match: IfMatch = None,
                body: VersionedBody | None = None, user: Principal = require(Perm.BATCH_START)) -> Any:
    return await _move(request, client, user, batch_id, "start", ProductionBatchWorkflow.start, body, if_match)


@router.patch("/{batch_id}/complete", response_model=ConsoleAnswer[BatchOut])
async def complete(batch_id: DbId, request: Request, client: TemporalDep, if_match: IfMatch = None,
                   body: VersionedBody | None = None, user: Principal = require(Perm.BATCH_COMPLETE)) -> Any:
    return await _move(request, client, user, batch_id, "complete", ProductionBatchWorkflow.complete, body,
                       if_match)
