"""Battery-pack production effects. Lifecycle transitions are called from activities (one DB
transaction each); cell and module binding are direct guarded writes from the API (DESIGN.md §2.8)."""

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.timeutil import utcnow
from dto.identity import Actor
from dto.production import (
    BatchProgress,
    BatchResult,
    BatchStatus,
    CreateBatch,
    CreatePack,
    Disposition,
    ModuleResult,
    ModuleStatus,
    ModuleView,
    PackResult,
    PackSnapshot,
    PackStatus,
    PackView,
    SkuStatus,
    Transition,
)
from models.production import Batch, Module, ModuleCell, Pack, Sku
from services import audit
from services.common.guards import check_version, locked, register_serial, require_status
from services.production.reads import (
    batch_progress,
    batch_result,
    get_pack_view,
    get_sku,
    module_cells,
    module_result,
    module_view,
    modules_per_pack,
    pack_result,
)

ASSEMBLING = (PackStatus.DRAFT, PackStatus.IN_PROGRESS)


# --- SKUs (master data, not a lifecycle) -------------------------------------------------------------

def create_sku(session: Session, actor_id: int, values: dict[str, Any]) -> Sku:
    duplicate = AppError("DUPLICATE_ENTRY", 409, f"SKU code {values['sku_code']} already exists",
                         {"field": "sku_code"})
    if session.scalar(select(Sku.id).where(func.lower(Sku.sku_code) == values["sku_code"].lower())):
        raise duplicate
    sku = Sku(status=SkuStatus.DRAFT, **values)
    session.add(sku)
    try:
        session.flush()
    except IntegrityError as err:  # a concurrent create of the same code won the unique index
        raise duplicate from err
    audit.record(session, actor_id=actor_id, entity_type="sku", entity_id=sku.id, action_type="SKU_CREATED",
                 payload_diff=audit.created(values))
    return sku


def activate_sku(session: Session, actor_id: int, sku_id: int, expected_version: int | None) -> Sku:
    sku = locked(session, Sku, sku_id, "SKU")
    check_version(sku, expected_version, "SKU")
    require_status(sku, [SkuStatus.DRAFT], "SKU", "activate")
    sku.status, sku.version = SkuStatus.ACTIVE, sku.version + 1
    audit.record(session, actor_id=actor_id, entity_type="sku", entity_id=sku.id, action_type="SKU_ACTIVATED",
                 payload_diff={"status": {"old": "DRAFT", "new": "ACTIVE"}})
    session.flush()  # so the answer carries the new `updated_at`
    return sku


# --- batches -------------------------------------------------------------------------------------------

def create_batch(session: Session, request: CreateBatch) -> BatchResult:
    existing = session.get(Batch, request.batch_id)
    if existing is not None:
        return batch_result(session, existing)
    sku = active_sku(session, request.sku_id)
    number = request.batch_number or f"B-{utcnow():%Y%m%d}-{request.batch_id:05d}"
    if session.scalar(select(Batch.id).where(Batch.batch_number == number)):
        raise AppError("DUPLICATE_ENTRY", 409, f"Batch number {number} already exists", {"field": "batch_number"})
    batch = Batch(id=request.batch_id, batch_number=number, sku_id=sku.id, target_quantity=request.target_quantity,
                  status=BatchStatus.DRAFT, created_by=request.actor.id)
    session.add(batch)
    session.flush()
    audit.record(session, actor_id=request.actor.id, entity_type="batch", entity_id=batch.id,
                 action_type="BATCH_CREATED", payload_diff=audit.created(
                     {"batch_number": number, "sku_id": sku.id, "target_quantity": request.target_quantity,
                      "status": BatchStatus.DRAFT}))
    return batch_result(session, batch, BatchProgress())


def active_sku(session: Session, sku_id: int) -> Sku:
    """The SKU a new batch is made of: it must be ACTIVE."""
    sku = get_sku(session, sku_id)
    if sku.status != SkuStatus.ACTIVE:
        raise AppError("WORKFLOW_VIOLATION", 409, f"SKU {sku.id} is {sku.status}; a batch needs an ACTIVE SKU",
                       {"sku_id": sku.id, "status": sku.status})
    return sku


def _move_batch(session: Session, batch: Batch, to: BatchStatus, actor: Actor, action: str) -> None:
    before = batch.status
    batch.status, batch.version = to, batch.version + 1
    if to == BatchStatus.IN_PROGRESS:
        batch.started_at = utcnow()
    if to == BatchStatus.COMPLETED:
        batch.completed_at = utcnow()
    audit.record(session, actor_id=actor.id, entity_type="batch", entity_id=batch.id, action_type=action,
                 payload_diff={"status": {"old": before, "new": to}})


def start_batch(session: Session, batch_id: int, transition: Transition) -> BatchResult:
    batch = locked(session, Batch, batch_id, "Batch")
    check_version(batch, transition.expected_version, "Batch")
    require_status(batch, [BatchStatus.DRAFT], "Batch", "start")
    _move_batch(session, batch, BatchStatus.IN_PROGRESS, transition.actor, "BATCH_STARTED")
    return batch_result(session, batch)


def complete_batch(session: Session, batch_id: int, transition: Transition) -> BatchResult:
    """COMPLETED only when every module is sealed, every pack finalized and one pack passed EOL."""
    batch = locked(session, Batch, batch_id, "Batch")
    check_version(batch, transition.expected_version, "Batch")
    require_status(batch, [BatchStatus.IN_PROGRESS], "Batch", "complete")
    progress = batch_progress(session, batch_id)
    unmet = _completion_gaps(progress)
    if unmet:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Batch {batch_id} cannot complete: {'; '.join(unmet)}",
                       {"id": batch_id, "unmet": unmet, "progress": progress.model_dump()})
    _move_batch(session, batch, BatchStatus.COMPLETED, transition.actor, "BATCH_COMPLETED")
    return batch_result(session, batch, progress)


def _completion_gaps(progress: BatchProgress) -> list[str]:
    gaps = []
    if progress.modules_sealed < progress.modules_total:
        gaps.append(f"{progress.modules_total - progress.modules_sealed} module(s) not sealed")
    if progress.packs_finalized < progress.packs_total:
        gaps.append(f"{progress.packs_total - progress.packs_finalized} pack(s) not finalized")
    if progress.packs_passed == 0:
        gaps.append("no pack has passed EOL")
    return gaps


def lock_batch_in_progress(session: Session, batch_id: int, action: str) -> Batch:
    """The batch, share-locked so it cannot complete while modules or packs are added to it."""
    batch = session.scalars(select(Batch).where(Batch.id == batch_id).with_for_update(read=True)).first()
    if batch is None:
        raise AppError("NOT_FOUND", 404, f"Batch {batch_id} not found", {"batch_id": batch_id})
    require_status(batch, [BatchStatus.IN_PROGRESS], "Batch", action)
    return batch


# --- modules ----------------------------------------------------------------------------------------

def create_module(session: Session, actor_id: int, batch_id: int, serial_number: str) -> ModuleView:
    lock_batch_in_progress(session, batch_id, "add a module to")
    register_serial(session, serial_number, "module")
    module = Module(serial_number=serial_number, batch_id=batch_id, status=ModuleStatus.DRAFT)
    session.add(module)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="module", entity_id=module.id,
                 action_type="MODULE_CREATED", payload_diff=audit.created(
                     {"serial_number": serial_number, "batch_id": batch_id, "status": ModuleStatus.DRAFT}))
    return module_view(module, [])


def bind_cell(session: Session, actor_id: int, module_id: int, cell_serial: str,
              expected_version: int | None) -> ModuleView:
    """Append a cell to the ledger under the module's row lock: never above `cells_per_module`."""
    module = locked(session, Module, module_id, "Module")
    if module.status == ModuleStatus.SEALED:
        raise AppError("ENTITY_LOCKED", 409, "Cannot modify a sealed module.", {"moduleId": module.serial_number})
    check_version(module, expected_version, "Module")
    capacity = session.scalar(select(Sku.cells_per_module).join(Batch, Batch.sku_id == Sku.id)
                              .where(Batch.id == module.batch_id))
    if module.cell_count >= (capacity or 0):
        raise AppError("WORKFLOW_VIOLATION", 409, f"Module {module.id} already holds {module.cell_count} cells, "
                       f"the SKU's cells_per_module", {"id": module.id, "cells_per_module": capacity})
    register_serial(session, cell_serial, "cell")
    session.add(ModuleCell(module_id=module.id, cell_serial=cell_serial, position=module.cell_count + 1,
                           bound_by=actor_id))
    before = module.status
    module.cell_count += 1
    module.status, module.version = ModuleStatus.IN_PROGRESS, module.version + 1
    diff: dict[str, Any] = {"cells": {"old": None, "new": cell_serial}}
    if before != module.status:
        diff["status"] = {"old": before, "new": module.status}
    audit.record(session, actor_id=actor_id, entity_type="module", entity_id=module.id,
                 action_type="MODULE_CELL_BOUND", payload_diff=diff)
    session.flush()
    return module_view(module, module_cells(session, module.id))


def seal_module(session: Session, module_id: int, transition: Transition) -> ModuleResult:
    module = locked(session, Module, module_id, "Module")
    check_version(module, transition.expected_version, "Module")
    require_status(module, [ModuleStatus.IN_PROGRESS], "Module", "seal")
    capacity = session.scalar(select(Sku.cells_per_module).join(Batch, Batch.sku_id == Sku.id)
                              .where(Batch.id == module.batch_id))
    if module.cell_count != capacity:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Module {module.id} holds {module.cell_count} of {capacity} cells",
                       {"id": module.id, "cell_count": module.cell_count, "cells_per_module": capacity})
    module.status, module.version, module.sealed_at = ModuleStatus.SEALED, module.version + 1, utcnow()
    audit.record(session, actor_id=transition.actor.id, entity_type="module", entity_id=module.id,
                 action_type="MODULE_SEALED", payload_diff={"status": {"old": "IN_PROGRESS", "new": "SEALED"}})
    return module_result(module)


# --- packs -------------------------------------------------------------------------------------------

def create_pack(session: Session, request: CreatePack) -> PackResult:
    existing = session.get(Pack, request.pack_id)
    if existing is not None:
        return pack_result(existing)
    lock_batch_in_progress(session, request.batch_id, "add a pack to")
    register_serial(session, request.serial_number, "pack")
    pack = Pack(id=request.pack_id, serial_number=request.serial_number, batch_id=request.batch_id,
                status=PackStatus.DRAFT)
    session.add(pack)
    session.flush()
    audit.record(session, actor_id=request.actor.id, entity_type="pack", entity_id=pack.id,
                 action_type="PACK_CREATED", payload_diff=audit.created(
                     {"serial_number": request.serial_number, "batch_id": request.batch_id, "status": "DRAFT"}))
    for module_id in request.module_ids:
        _bind_module(session, pack, module_id, request.actor.id)
    return pack_result(pack)


def bind_module(session: Session, actor_id: int, pack_id: int, module_id: int,
                expected_version: int | None) -> PackView:
    pack = locked(session, Pack, pack_id, "Pack")
    check_version(pack, expected_version, "Pack")
    _bind_module(session, pack, module_id, actor_id)
    return get_pack_view(session, pack.id)


def _bind_module(session: Session, pack: Pack, module_id: int, actor_id: int) -> None:
    """A SEALED module of the pack's batch, not bound elsewhere, within `modules_per_pack`."""
    if pack.status not in ASSEMBLING:
        raise AppError("ENTITY_LOCKED", 409, f"Cannot bind modules to pack {pack.id} in status {pack.status}",
                       {"packId": pack.serial_number, "status": pack.status})
    module = locked(session, Module, module_id, "Module")
    problem = _module_unbindable(session, pack, module)
    if problem:
        raise AppError("WORKFLOW_VIOLATION", 409, problem, {"pack_id": pack.id, "module_id": module.id})
    module.pack_id, module.version = pack.id, module.version + 1
    before = pack.status
    pack.module_count += 1
    pack.status, pack.version = PackStatus.IN_PROGRESS, pack.version + 1
    diff: dict[str, Any] = {"modules": {"old": None, "new": module.serial_number}}
    if before != pack.status:
        diff["status"] = {"old": before, "new": pack.status}
    audit.record(session, actor_id=actor_id, entity_type="pack", entity_id=pack.id,
                 action_type="PACK_MODULE_BOUND", payload_diff=diff)


def _module_unbindable(session: Session, pack: Pack, module: Module) -> str | None:
    if module.status != ModuleStatus.SEALED:
        return f"Module {module.id} is {module.status}; only SEALED modules can be bound"
    if module.batch_id != pack.batch_id:
        return f"Module {module.id} belongs to batch {module.batch_id}, the pack to batch {pack.batch_id}"
    if module.pack_id is not None:
        return f"Module {module.id} is already bound to pack {module.pack_id}"
    capacity = modules_per_pack(session, pack.batch_id)
    if pack.module_count >= capacity:
        return f"Pack {pack.id} already holds {pack.module_count} modules, the SKU's modules_per_pack"
    return None


def seal_pack(session: Session, pack_id: int, transition: Transition) -> PackResult:
    pack, capacity = _locked_pack_with_capacity(session, pack_id)
    check_version(pack, transition.expected_version, "Pack")
    require_status(pack, [PackStatus.IN_PROGRESS], "Pack", "seal")
    if pack.module_count != capacity:
        raise AppError("WORKFLOW_VIOLATION", 409, f"Pack {pack.id} holds {pack.module_count} of {capacity} modules",
                       {"id": pack.id, "module_count": pack.module_count, "modules_per_pack": capacity})
    pack.status, pack.version, pack.sealed_at = PackStatus.READY_FOR_EOL, pack.version + 1, utcnow()
    audit.record(session, actor_id=transition.actor.id, entity_type="pack", entity_id=pack.id,
                 action_type="PACK_SEALED", payload_diff={"status": {"old": "IN_PROGRESS", "new": "READY_FOR_EOL"}})
    return pack_result(pack)


# The statements of the pack transitions, built once (building one and its cache key costs about as much CPU
# as running it).
LOCK_PACK = select(Pack).where(Pack.id == bindparam("pack_id")).with_for_update()
LOCK_PACK_WITH_CAPACITY = (select(Pack, Sku.modules_per_pack).join(Batch, Batch.id == Pack.batch_id)
                           .join(Sku, Sku.id == Batch.sku_id).where(Pack.id == bindparam("pack_id"))
                           .with_for_update(of=Pack))


def _locked_pack(session: Session, pack_id: int) -> Pack:
    """The pack, locked FOR UPDATE for the rest of the transaction; 404 if missing."""
    pack = session.scalars(LOCK_PACK, {"pack_id": pack_id}).first()
    if pack is None:
        raise not_found("Pack", pack_id)
    return pack


def _locked_pack_with_capacity(session: Session, pack_id: int) -> tuple[Pack, int]:
    """The pack, locked FOR UPDATE, and its SKU's `modules_per_pack`, in one statement."""
    row = session.execute(LOCK_PACK_WITH_CAPACITY, {"pack_id": pack_id}).first()
    if row is None:
        raise not_found("Pack", pack_id)
    return row[0], int(row[1])


def set_disposition(session: Session, pack_id: int, transition: Transition) -> PackResult:
    """PASS or FAIL finalizes the pack; QUARANTINE holds it at READY_FOR_EOL."""
    pack = _locked_pack(session, pack_id)
    check_version(pack, transition.expected_version, "Pack")
    require_status(pack, [PackStatus.READY_FOR_EOL], "Pack", "disposition")
    disposition = Disposition(transition.payload["disposition"])
    before = {"status": pack.status, "disposition": pack.disposition}
    pack.disposition, pack.disposition_notes = disposition, transition.payload.get("notes")
    if disposition != Disposition.QUARANTINE:
        pack.status, pack.finalized_at = PackStatus.FINALIZED, utcnow()
    pack.version += 1
    audit.record(session, actor_id=transition.actor.id, entity_type="pack", entity_id=pack.id,
                 action_type=f"PACK_DISPOSITION_{disposition}",
                 payload_diff=audit.diff(before, {"status": pack.status, "disposition": pack.disposition}))
    return pack_result(pack)


def pack_snapshot(session: Session, pack_id: int) -> PackSnapshot:
    pack = session.get(Pack, pack_id)
    if pack is None:
        raise AppError("NOT_FOUND", 404, f"Pack {pack_id} not found")
    return PackSnapshot(status=PackStatus(pack.status),
                        disposition=Disposition(pack.disposition) if pack.disposition else None,
                        module_count=pack.module_count)


