"""Battery-pack console bodies (the contract leaves them open; issue 2 defines them) and its envelope."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

from api.contracts.types import DbId, PageNumber
from api.contracts.wire import Body, VersionedBody, WireResponse
from dto.production import Disposition

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
