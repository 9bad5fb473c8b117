"""`/api/v1/packs`: packs, each a `pack-{id}` workflow; module binding is a guarded direct write. A transition
answers a small result through Temporal; the pack it answers with is read from PostgreSQL afterwards."""

from typing import Annotated, Any

from fastapi import Depends, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId
from api.contracts.wire import IfMatch, VersionedBody, expected_version
from api.deps import CurrentUser, SessionDep, TemporalDep, actor_of, in_transaction, require
from api.lifecycle import create_with_start, idempotency_key, notify, transition, update_id
from api.production.schemas import (
    BindModule,
    ConsoleAnswer,
    ConsolePage,
    DispositionBody,
    PackCreate,
    PackOut,
    PackRowOut,
    Page,
    listed,
    ok,
)
from core.errors import AppError, workflow_violation
from core.permissions import Perm
from dto.production import CreatePack, PackInput, PackResult, PackStatus, PackView, Transition
from services.common import idempotency
from services.identity import Principal
from services.production import effects as production
from services.production.effects import lock_batch_in_progress
from services.production.reads import find_pack_view, get_pack_view, list_packs
from workflows.production.pack import PackWorkflow, pack_workflow_id

router = dialect_router(Dialect.BATTERY_PACK, prefix="/api/v1/packs", tags=["battery-pack: packs"])


@router.get("", response_model=ConsolePage[PackRowOut])
def list_all(session: SessionDep, _: CurrentUser, page: Annotated[Page, Depends()],
             status: PackStatus | None = None, batch_id: DbId | None = None, sku_id: DbId | None = None) -> Any:
    items, total = list_packs(session, page.offset, page.size, status, batch_id, sku_id)
    return listed(items, total, page)


@router.get("/{pack_id}", response_model=ConsoleAnswer[PackOut])
def get(pack_id: DbId, session: SessionDep, _: CurrentUser) -> Any:
    return ok(get_pack_view(session, pack_id))


def _prepare(session: Any, body: PackCreate, key: str | None) -> tuple[int, PackView | None]:
    """The pack's id, and the pack itself when a retried request already created it. The batch check here
    only spares starting a lifecycle doomed to fail; the create effect checks again, authoritatively."""
    earlier = idempotency.known_id(session, "pack", key)
    if earlier is not None:
        return earlier, find_pack_view(session, earlier)
    lock_batch_in_progress(session, body.batch_id, "add a pack to")
    return idempotency.reserve_id(session, "packs", "pack", key), None


@router.post("", status_code=201, response_model=ConsoleAnswer[PackOut])
async def create(body: PackCreate, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.PACK_ASSEMBLE)) -> Any:
    key = idempotency_key(request)
    pack_id, created_before = await in_transaction(request, _prepare, body, key)
    if created_before is not None:
        return ok(created_before, status=201)
    await create_with_start(
        client, run=PackWorkflow.run, start_input=PackInput(pack_id=pack_id), workflow_id=pack_workflow_id(pack_id),
        create=PackWorkflow.create,
        request=CreatePack(pack_id=pack_id, batch_id=body.batch_id, serial_number=body.serial_number,
                           module_ids=body.module_ids, actor=actor_of(user)),
        result_type=PackResult, entity_type="pack", entity_id=pack_id,
        summary=f"Pack {body.serial_number} of batch {body.batch_id}", update_key=f"create-pack-{pack_id}")
    return ok(await in_transaction(request, get_pack_view, pack_id), status=201)


@router.patch("/{pack_id}/bind-module", response_model=ConsoleAnswer[PackOut])
async def bind_module(pack_id: DbId, body: BindModule, request: Request, client: TemporalDep,
                      if_match: IfMatch = None, user: Principal = require(Perm.PACK_ASSEMBLE)) -> Any:
    pack = await in_transaction(request, production.bind_module, user.id, pack_id, body.module_id,
                                expected_version(body, if_match))
    await notify(client, pack_workflow_id(pack_id), PackWorkflow.assembly_changed)
    return ok(pack)


async def _move(request: Request, client: Any, user: Principal, pack_id: int, action: str, update: Any,
                version: int | None, payload: dict[str, Any] | None = None) -> Any:
    step = Transition(action=action, actor=actor_of(user), expected_version=version, payload=payload or {})

    async def gone() -> AppError:
        pack = await in_transaction(request, get_pack_view, pack_id)
        return workflow_violation(f"Cannot {action} pack {pack_id} in status {pack.status}",
                                  {"id": pack_id, "status": pack.status})

    await transition(client, pack_workflow_id(pack_id), update, step, update_id(request, action), gone)
    return ok(await in_transaction(request, get_pack_view, pack_id))


@router.patch("/{pack_id}/seal", response_model=ConsoleAnswer[PackOut])
async def seal(pack_id: DbId, request: Request, client: TemporalDep, if_match: IfMatch = None,
               body: VersionedBody | None = None, user: Principal = require(Perm.PACK_ASSEMBLE)) -> Any:
    return await _move(request, client, user, pack_id, "seal", PackWorkflow.seal, expected_version(body, if_match))


@router.patch("/{pack_id}/disposition", response_model=ConsoleAnswer[PackOut])
async def disposition(pack_id: DbId, body: DispositionBody, request: Request, client: TemporalDep,
                      if_match: IfMatch = None, user: Principal = require(Perm.PACK_DISPOSITION)) -> Any:
    return await _move(request, client, user, pack_id, "disposition", PackWorkflow.disposition,
                       expected_version(body, if_match), {"disposition": body.disposition.value, "notes": body.notes})
