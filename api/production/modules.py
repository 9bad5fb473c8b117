"""`/api/v1/modules`: modules and their cell ledger. Creation and cell binding are guarded direct
writes; sealing is a transition of the owning batch's workflow (it answers a small result; the module is read
from PostgreSQL afterwards)."""

from typing import Annotated, Any

from fastapi import Depends, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId
from api.contracts.wire import IfMatch, VersionedBody, expected_version
from api.deps import CurrentUser, SessionDep, TemporalDep, actor_of, in_transaction, require
from api.lifecycle import notify, transition, update_id
from api.production.schemas import (
    BindCell,
    ConsoleAnswer,
    ConsolePage,
    ModuleCreate,
    ModuleOut,
    ModuleRowOut,
    Page,
    listed,
    ok,
)
from core.errors import AppError, workflow_violation
from core.permissions import Perm
from dto.production import ModuleStatus, Transition
from services.identity import Principal
from services.production import effects as production
from services.production.reads import get_module_view, list_modules, module_batch
from workflows.production.batch import ProductionBatchWorkflow, batch_workflow_id

router = dialect_router(Dialect.BATTERY_PACK, prefix="/api/v1/modules", tags=["battery-pack: modules"])


@router.get("", response_model=ConsolePage[ModuleRowOut])
def list_all(session: SessionDep, _: CurrentUser, page: Annotated[Page, Depends()],
             status: ModuleStatus | None = None, batch_id: DbId | None = None) -> Any:
    items, total = list_modules(session, page.offset, page.size, status, batch_id)
    return listed(items, total, page)


@router.get("/{module_id}", response_model=ConsoleAnswer[ModuleOut])
def get(module_id: DbId, session: SessionDep, _: CurrentUser) -> Any:
    return ok(get_module_view(session, module_id))


@router.post("", status_code=201, response_model=ConsoleAnswer[ModuleOut])
async def create(body: ModuleCreate, request: Request, client: TemporalDep,
                 user: Principal = require(Perm.MODULE_ASSEMBLE)) -> Any:
    module = await in_transaction(request, production.create_module, user.id, body.batch_id, body.serial_number)
    await notify(client, batch_workflow_id(body.batch_id), ProductionBatchWorkflow.assembly_changed)
    return ok(module, status=201)


@router.patch("/{module_id}/bind-cell", response_model=ConsoleAnswer[ModuleOut])
async def bind_cell(module_id: DbId, body: BindCell, request: Request, if_match: IfMatch = None,
                    user: Principal = require(Perm.MODULE_ASSEMBLE)) -> Any:
    module = await in_transaction(request, production.bind_cell, user.id, module_id, body.cell_serial,
                                  expected_version(body, if_match))
    return ok(module)


@router.patch("/{module_id}/seal", response_model=ConsoleAnswer[ModuleOut])
async def seal(module_id: DbId, request: Request, client: TemporalDep, if_match: IfMatch = None,
               body: VersionedBody | None = None, user: Principal = require(Perm.MODULE_ASSEMBLE)) -> Any:
    batch_id, status = await in_transaction(request, module_batch, module_id)
    step = Transition(action="seal", actor=actor_of(user), expected_version=expected_version(body, if_match),
                      payload={"module_id": module_id})

    async def gone() -> AppError:
        return workflow_violation(f"Cannot seal module {module_id}: its batch {batch_id} is closed",
                                  {"id": module_id, "status": status})

    await transition(client, batch_workflow_id(batch_id), ProductionBatchWorkflow.seal_module,
                     step, update_id(request, f"seal-module-{module_id}"), gone)
    return ok(await in_transaction(request, get_module_view, module_id))
