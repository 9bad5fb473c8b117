"""Bodies of NCRs (multi-location-stock.md §11), as services/stock/ncrs.py renders one (and the NCR's lifecycle
answers a status change with): ids are `uid`s, numbers JSON numbers, times UTC with `Z` (strings the service has
written)."""

from pydantic import BaseModel

from api.stock.schemas.documents import IsoTime, SupplierRef
from api.stock.schemas.refs import ItemRef, LocationRef


class NcrDeliveryRef(BaseModel):
    id: str
    delivery_no: str


class NcrCreatorRef(BaseModel):
    """Who raised the NCR (no `full_name` here)."""

    id: str
    username: str


class NcrLineOut(BaseModel):
    item: ItemRef
    quantity: float
    value: float


class NcrOut(BaseModel):
    """An NCR, MANUAL or PRICE_VARIANCE, claimed from the supplier OPEN → SENT → CREDITED → CLOSED."""

    id: str
    ncr_no: str
    type: str
    status: str
    reason: str
    resolution: str | None
    location: LocationRef | None
    delivery: NcrDeliveryRef | None
    supplier: SupplierRef | None
    item: ItemRef | None
    expected_price: float | None
    actual_price: float | None
    variance: float | None
    variance_percent: float | None
    quantity: float | None
    total_value: float | None
    credited_value: float | None
    lines: list[NcrLineOut]
    created_by: NcrCreatorRef | None
    created_at: IsoTime
    sent_at: IsoTime | None
    credited_at: IsoTime | None
    closed_at: IsoTime | None


class NcrListOut(BaseModel):
    ncrs: list[NcrOut]
    total: int
    page: int
    limit: int
