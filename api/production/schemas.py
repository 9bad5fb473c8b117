"""Battery-pack console bodies (the contract leaves them open; issue 2 defines them) and its envelope.

The answers are built in services/production/reads.py (`SkuView`, `BatchView`, …) and rendered by `ok()`/`listed()`
as a `WireResponse`; the `...Out` models and the `ConsoleAnswer`/`ConsolePage` envelopes below only document them
(`response_model=`: FastAPI does not re-validate a returned Response). They describe the wire exactly: every key is
always present (null when empty), numbers are JSON numbers, timestamps ISO 8601 UTC with `Z`."""

from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from api.contracts.types import DbId, PageNumber
from api.contracts.wire import Body, Money, UtcDateTime, VersionedBody, WireModel, WireResponse
from dto.production import BatchStatus, Disposition, ModuleStatus, PackStatus, SkuStatus

Serial = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
MAX_PAGE_SIZE = 100


class SkuCreate(Body):
    sku_code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=255)
    chemistry: str | None = Field(default=None, max_length=100)
    nominal_voltage_v: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=3)
    capacity_ah: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=3)
    cells_per_module: int = Field(ge=1, le=10_000)
    modules_per_pack: int = Field(ge=1, le=1_000)


class BatchCreate(Body):
    sku_id: DbId
    batch_number: str | None = Field(default=None, min_length=1, max_length=100)
    target_quantity: int = Field(ge=1, le=1_000_000)


class ModuleCreate(Body):
    batch_id: DbId
    serial_number: Serial


class BindCell(VersionedBody):
    cell_serial: Serial


class PackCreate(Body):
    batch_id: DbId
    serial_number: Serial
    module_ids: list[DbId] = Field(default_factory=list, max_length=1_000)


class BindModule(VersionedBody):
    module_id: DbId


class DispositionBody(VersionedBody):
    disposition: Disposition
    notes: str | None = Field(default=None, max_length=2_000)


# --- answers (documentation only) --------------------------------------------------------------------------------

T = TypeVar("T")


class ConsoleMeta(BaseModel):
    """A list's paging: the total count of matching records, the page (from 1) and its size."""

    totalCount: int  # noqa: N815 - the contract's spelling
    page: int
    pageSize: int  # noqa: N815


class ConsoleAnswer(BaseModel, Generic[T]):
    """The console's success envelope for one record: `{"success": true, "data": {...}}` (no `meta`)."""

    success: Literal[True]
    data: T


class ConsolePage(BaseModel, Generic[T]):
    """The console's success envelope for a list: `{"success": true, "data": [...], "meta": {...}}`."""

    success: Literal[True]
    data: list[T]
    meta: ConsoleMeta


class SkuOut(WireModel):
    """A SKU blueprint."""

    id: int
    uid: str
    sku_code: str
    name: str
    chemistry: str | None
    nominal_voltage_v: Money | None
    capacity_ah: Money | None
    cells_per_module: int
    modules_per_pack: int
    status: SkuStatus
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class BatchProgressOut(WireModel):
    """How far a batch is: its modules (sealed of all) and packs (finalized, passed, failed, quarantined)."""

    modules_total: int
    modules_sealed: int
    packs_total: int
    packs_finalized: int
    packs_passed: int
    packs_failed: int
    packs_quarantined: int


class BatchOut(WireModel):
    """A production batch with its SKU (eager-loaded) and its progress."""

    id: int
    uid: str
    batch_number: str
    sku_id: int
    sku: SkuOut
    target_quantity: int
    status: BatchStatus
    progress: BatchProgressOut
    version: int
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CellOut(WireModel):
    """A cell of a module's ledger, at its position."""

    cell_serial: str
    position: int
    bound_at: UtcDateTime
    bound_by: int | None


class ModuleFields(WireModel):
    id: int
    uid: str
    serial_number: str
    batch_id: int
    pack_id: int | None
    status: ModuleStatus
    cell_count: int
    sealed_at: UtcDateTime | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ModuleOut(ModuleFields):
    """A module with its cell ledger, in position order."""

    cells: list[CellOut]


class ModuleRowOut(ModuleFields):
    """A module as a list or a pack shows it: `cells` is null (`GET /api/v1/modules/{id}` has them)."""

    cells: None


class PackFields(WireModel):
    id: int
    uid: str
    serial_number: str
    batch_id: int
    sku: SkuOut
    status: PackStatus
    disposition: Disposition | None
    disposition_notes: str | None
    module_count: int
    sealed_at: UtcDateTime | None
    finalized_at: UtcDateTime | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PackOut(PackFields):
    """A pack with its SKU and its modules (by id; each without its cells)."""

    modules: list[ModuleRowOut]


class PackRowOut(PackFields):
    """A pack as a list shows it: `modules` is null (`GET /api/v1/packs/{id}` has them)."""

    modules: None


# --- paging and rendering ----------------------------------------------------------------------------------------

class Page:
    """`page` and `pageSize` query parameters, capped."""

    def __init__(self, page: Annotated[PageNumber, Query()] = 1,
                 page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE, alias="pageSize")) -> None:
        self.page, self.size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def ok(data: Any, meta: dict[str, int] | None = None, status: int = 200) -> WireResponse:
    """The console's success envelope."""
    body: dict[str, Any] = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return WireResponse(body, status_code=status)


def listed(items: list[Any], total: int, page: Page) -> WireResponse:
    return ok(items, {"totalCount": total, "page": page.page, "pageSize": page.size})
