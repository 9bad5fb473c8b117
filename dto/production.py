"""What crosses the workflow boundary for battery-pack production: small pydantic models, no ORM."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from dto.activity import ActivityRef
from dto.identity import Actor


class SkuStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"


class BatchStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class ModuleStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    SEALED = "SEALED"


class PackStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    READY_FOR_EOL = "READY_FOR_EOL"
    FINALIZED = "FINALIZED"


class Disposition(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    QUARANTINE = "QUARANTINE"


class SkuView(BaseModel):
    id: int
    uid: str
    sku_code: str
    name: str
    chemistry: str | None = None
    nominal_voltage_v: Decimal | None = None
    capacity_ah: Decimal | None = None
    cells_per_module: int
    modules_per_pack: int
    status: SkuStatus
    version: int
    created_at: datetime
    updated_at: datetime


class BatchProgress(BaseModel):
    modules_total: int = 0
    modules_sealed: int = 0
    packs_total: int = 0
    packs_finalized: int = 0
    packs_passed: int = 0
    packs_failed: int = 0
    packs_quarantined: int = 0


class BatchView(BaseModel):
    id: int
    uid: str
    batch_number: str
    sku_id: int
    sku: SkuView
    target_quantity: int
    status: BatchStatus
    progress: BatchProgress
    version: int
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class CellView(BaseModel):
    cell_serial: str
    position: int
    bound_at: datetime
    bound_by: int | None = None


class ModuleView(BaseModel):
    id: int
    uid: str
    serial_number: str
    batch_id: int
    pack_id: int | None = None
    status: ModuleStatus
    cell_count: int
    cells: list[CellView] | None = None
    sealed_at: datetime | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class PackView(BaseModel):
    id: int
    uid: str
    serial_number: str
    batch_id: int
    sku: SkuView
    status: PackStatus
    disposition: Disposition | None = None
    disposition_notes: str | None = None
    module_count: int
    modules: list[ModuleView] | None = None
    sealed_at: datetime | None = None
    finalized_at: datetime | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class BatchResult(BaseModel):
    """What a batch transition answers (and its effect records in history): the API reads the body from
    PostgreSQL. A result recorded as a whole `BatchView` (older histories) parses into this too."""

    id: int
    status: BatchStatus
    version: int
    progress: BatchProgress  # the workflow's state and its details in the Temporal UI


class ModuleResult(BaseModel):
    """What sealing a module answers (the API reads the module from PostgreSQL)."""

    id: int
    batch_id: int
    status: ModuleStatus
    version: int


class PackResult(BaseModel):
    """What a pack transition answers: id, status, version and the few facts the pack workflow keeps for its
    state and its details; the API reads the body from PostgreSQL. A recorded `PackView` parses into this."""

    id: int
    batch_id: int
    status: PackStatus
    disposition: Disposition | None = None
    module_count: int
    version: int


class CreateBatch(BaseModel):
    batch_id: int
    sku_id: int
    batch_number: str | None = None
    target_quantity: int
    actor: Actor


class CreatePack(BaseModel):
    pack_id: int
    batch_id: int
    serial_number: str
    module_ids: list[int] = Field(default_factory=list)
    actor: Actor


class Transition(BaseModel):
    """A request to move an entity: `action` names it; `payload` carries its fields."""

    action: str
    actor: Actor
    expected_version: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class Effect(BaseModel):
    """One activity call: the transition plus the business key that makes a retry harmless."""

    entity_id: int
    op_key: str
    transition: Transition


class BatchState(BaseModel):
    """The batch workflow's memory, carried across continue-as-new."""

    batch_id: int
    created: bool = False
    status: BatchStatus = BatchStatus.DRAFT
    progress: BatchProgress = Field(default_factory=BatchProgress)


class BatchInput(BaseModel):
    batch_id: int
    state: BatchState | None = None


class PackState(BaseModel):
    pack_id: int
    batch_id: int | None = None
    created: bool = False
    status: PackStatus = PackStatus.DRAFT
    disposition: Disposition | None = None
    module_count: int = 0


class PackInput(BaseModel):
    pack_id: int
    state: PackState | None = None


class PackSnapshot(BaseModel):
    """The few pack facts the pack workflow shows; read after a guarded bind changed them."""

    status: PackStatus
    disposition: Disposition | None = None
    module_count: int


# The production activities (activities/production.py): the names their histories record.
CREATE_BATCH = ActivityRef[CreateBatch, BatchResult]("create_batch", BatchResult)
START_BATCH = ActivityRef[Effect, BatchResult]("start_batch", BatchResult)
COMPLETE_BATCH = ActivityRef[Effect, BatchResult]("complete_batch", BatchResult)
SEAL_MODULE = ActivityRef[Effect, ModuleResult]("seal_module", ModuleResult)
BATCH_PROGRESS = ActivityRef[int, BatchProgress]("batch_progress", BatchProgress)
CREATE_PACK = ActivityRef[CreatePack, PackResult]("create_pack", PackResult)
SEAL_PACK = ActivityRef[Effect, PackResult]("seal_pack", PackResult)
SET_DISPOSITION = ActivityRef[Effect, PackResult]("set_disposition", PackResult)
PACK_SNAPSHOT = ActivityRef[int, PackSnapshot]("pack_snapshot", PackSnapshot)
