"""Reads of battery-pack production records, each with its SKU eager-loaded (no N+1)."""

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.errors import not_found
from dto.production import (
    BatchProgress,
    BatchResult,
    BatchStatus,
    BatchView,
    CellView,
    Disposition,
    ModuleResult,
    ModuleStatus,
    ModuleView,
    PackResult,
    PackStatus,
    PackView,
    SkuView,
)
from models.production import Batch, Module, ModuleCell, Pack, Sku
from services.common.queries import given


def sku_view(sku: Sku) -> SkuView:
    return SkuView.model_validate({**_columns(sku), "uid": str(sku.uid)})


def _columns(row: object) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}  # type: ignore[attr-defined]


def batch_progress(session: Session, batch_id: int) -> BatchProgress:
    modules = session.execute(select(func.count(Module.id), func.count(Module.id).filter(Module.status == "SEALED"))
                              .where(Module.batch_id == batch_id)).one()
    packs = session.execute(select(
        func.count(Pack.id), func.count(Pack.id).filter(Pack.status == "FINALIZED"),
        func.count(Pack.id).filter(Pack.status == "FINALIZED", Pack.disposition == "PASS"),
        func.count(Pack.id).filter(Pack.status == "FINALIZED", Pack.disposition == "FAIL"),
        func.count(Pack.id).filter(Pack.disposition == "QUARANTINE"),
    ).where(Pack.batch_id == batch_id)).one()
    return BatchProgress(modules_total=modules[0], modules_sealed=modules[1], packs_total=packs[0],
                         packs_finalized=packs[1], packs_passed=packs[2], packs_failed=packs[3],
                         packs_quarantined=packs[4])


def batch_view(session: Session, batch: Batch, progress: BatchProgress | None = None) -> BatchView:
    return BatchView.model_validate({**_columns(batch), "uid": str(batch.uid), "sku": sku_view(batch.sku),
                                     "progress": progress or batch_progress(session, batch.id)})


def module_view(module: Module, cells: list[ModuleCell] | None = None) -> ModuleView:
    cell_views = None if cells is None else [CellView.model_validate(_columns(c)) for c in cells]
    return ModuleView.model_validate({**_columns(module), "uid": str(module.uid), "cells": cell_views})


def pack_view(pack: Pack, sku: Sku, modules: list[Module] | None = None) -> PackView:
    module_views = None if modules is None else [module_view(m) for m in modules]
    return PackView.model_validate({**_columns(pack), "uid": str(pack.uid), "sku": sku_view(sku),
                                    "modules": module_views})


def get_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise not_found("SKU", sku_id)
    return sku


def load_batch(session: Session, batch_id: int) -> Batch:
    batch = session.scalars(select(Batch).options(joinedload(Batch.sku)).where(Batch.id == batch_id)).first()
    if batch is None:
        raise not_found("Batch", batch_id)
    return batch


def get_batch_view(session: Session, batch_id: int) -> BatchView:
    return batch_view(session, load_batch(session, batch_id))


def module_cells(session: Session, module_id: int) -> list[ModuleCell]:
    return list(session.scalars(select(ModuleCell).where(ModuleCell.module_id == module_id)
                                .order_by(ModuleCell.position)))


def get_module_view(session: Session, module_id: int) -> ModuleView:
    module = session.get(Module, module_id)
    if module is None:
        raise not_found("Module", module_id)
    return module_view(module, module_cells(session, module_id))


def modules_per_pack(session: Session, batch_id: int) -> int:
    """The capacity of a pack of this batch (its SKU's `modules_per_pack`)."""
    return int(session.execute(select(Sku.modules_per_pack).join(Batch, Batch.sku_id == Sku.id)
                               .where(Batch.id == batch_id)).scalar_one())


# Built once: a pack is read after every pack transition, and building the statement (and its cache key) on
# each call cost about as much CPU as running it.
PACK_WITH_SKU_AND_MODULES = (select(Pack, Sku, Module).join(Batch, Batch.id == Pack.batch_id)
                             .join(Sku, Sku.id == Batch.sku_id).outerjoin(Module, Module.pack_id == Pack.id)
                             .where(Pack.id == bindparam("pack_id")).order_by(Module.id))


def get_pack_view(session: Session, pack_id: int) -> PackView:
    """The pack with its SKU and modules, in one statement."""
    rows = session.execute(PACK_WITH_SKU_AND_MODULES, {"pack_id": pack_id}).all()
    if not rows:
        raise not_found("Pack", pack_id)
    return pack_view(rows[0][0], rows[0][1], [row[2] for row in rows if row[2] is not None])


def list_skus(session: Session, offset: int, limit: int, status: str | None) -> tuple[list[SkuView], int]:
    query = select(Sku).where(*given((status, Sku.status == status)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Sku.id).offset(offset).limit(limit))
    return [sku_view(s) for s in rows], int(total)


def list_batches(session: Session, offset: int, limit: int, status: str | None,
                 sku_id: int | None) -> tuple[list[BatchView], int]:
    filters = given((status, Batch.status == status), (sku_id, Batch.sku_id == sku_id))
    total = session.scalar(select(func.count(Batch.id)).where(*filters)) or 0
    batches = list(session.scalars(select(Batch).options(joinedload(Batch.sku)).where(*filters)
                                   .order_by(Batch.id).offset(offset).limit(limit)))
    progress = _progress_of(session, [b.id for b in batches])
    return [batch_view(session, b, progress.get(b.id, BatchProgress())) for b in batches], int(total)


def _progress_of(session: Session, batch_ids: list[int]) -> dict[int, BatchProgress]:
    """Progress of many batches in two grouped queries."""
    if not batch_ids:
        return {}
    result = {bid: BatchProgress() for bid in batch_ids}
    for bid, total, sealed in session.execute(
            select(Module.batch_id, func.count(Module.id), func.count(Module.id).filter(Module.status == "SEALED"))
            .where(Module.batch_id.in_(batch_ids)).group_by(Module.batch_id)):
        result[bid].modules_total, result[bid].modules_sealed = total, sealed
    finalized = Pack.status == "FINALIZED"
    for bid, total, done, passed, failed, quarantined in session.execute(
            select(Pack.batch_id, func.count(Pack.id), func.count(Pack.id).filter(finalized),
                   func.sum(case((finalized & (Pack.disposition == "PASS"), 1), else_=0)),
                   func.sum(case((finalized & (Pack.disposition == "FAIL"), 1), else_=0)),
                   func.sum(case((Pack.disposition == "QUARANTINE", 1), else_=0)))
            .where(Pack.batch_id.in_(batch_ids)).group_by(Pack.batch_id)):
        progress = result[bid]
        progress.packs_total, progress.packs_finalized = total, done
        progress.packs_passed, progress.packs_failed, progress.packs_quarantined = passed, failed, quarantined
    return result


def list_modules(session: Session, offset: int, limit: int, status: str | None,
                 batch_id: int | None) -> tuple[list[ModuleView], int]:
    filters = given((status, Module.status == status), (batch_id, Module.batch_id == batch_id))
    total = session.scalar(select(func.count(Module.id)).where(*filters)) or 0
    rows = session.scalars(select(Module).where(*filters).order_by(Module.id).offset(offset).limit(limit))
    return [module_view(m) for m in rows], int(total)


def list_packs(session: Session, offset: int, limit: int, status: str | None, batch_id: int | None,
               sku_id: int | None) -> tuple[list[PackView], int]:
    filters = given((status, Pack.status == status), (batch_id, Pack.batch_id == batch_id),
                    (sku_id, Pack.batch_id.in_(select(Batch.id).where(Batch.sku_id == sku_id))))
    total = session.scalar(select(func.count(Pack.id)).where(*filters)) or 0
    rows = session.scalars(select(Pack).where(*filters).options(selectinload(Pack.batch).joinedload(Batch.sku))
                           .order_by(Pack.id).offset(offset).limit(limit))
    return [pack_view(p, p.batch.sku) for p in rows], int(total)


def find_batch_view(session: Session, batch_id: int) -> BatchView | None:
    return get_batch_view(session, batch_id) if session.get(Batch, batch_id) else None


def find_pack_view(session: Session, pack_id: int) -> PackView | None:
    return get_pack_view(session, pack_id) if session.get(Pack, pack_id) else None


# --- what lifecycle effects answer: ids, statuses, versions (the API reads bodies with the views above) ----

def batch_result(session: Session, batch: Batch, progress: BatchProgress | None = None) -> BatchResult:
    return BatchResult(id=batch.id, status=BatchStatus(batch.status), version=batch.version,
                       progress=progress if progress is not None else batch_progress(session, batch.id))


def get_batch_result(session: Session, batch_id: int) -> BatchResult:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise not_found("Batch", batch_id)
    return batch_result(session, batch)


def module_result(module: Module) -> ModuleResult:
    return ModuleResult(id=module.id, batch_id=module.batch_id, status=ModuleStatus(module.status),
                        version=module.version)


def get_module_result(session: Session, module_id: int) -> ModuleResult:
    module = session.get(Module, module_id)
    if module is None:
        raise not_found("Module", module_id)
    return module_result(module)


def pack_result(pack: Pack) -> PackResult:
    return PackResult(id=pack.id, batch_id=pack.batch_id, status=PackStatus(pack.status),
                      disposition=Disposition(pack.disposition) if pack.disposition else None,
                      module_count=pack.module_count, version=pack.version)


def get_pack_result(session: Session, pack_id: int) -> PackResult:
    pack = session.get(Pack, pack_id)
    if pack is None:
        raise not_found("Pack", pack_id)
    return pack_result(pack)


def module_batch(session: Session, module_id: int) -> tuple[int, str]:
    """The batch whose lifecycle seals this module, and the module's status."""
    row = session.execute(select(Module.batch_id, Module.status).where(Module.id == module_id)).first()
    if row is None:
        raise not_found("Module", module_id)
    return row[0], row[1]
