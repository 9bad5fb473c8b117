"""Bodies of deliveries and issues (multi-location-stock.md §8, §9): ids are `uid`s, numbers JSON numbers (a
stored Decimal rendered as a float, `12.0` as the app always did), dates ISO dates, times UTC with `Z`.
api/stock/deliveries.py and issues.py build them from the rows the services read."""

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.contracts.wire import UtcDateTime
from api.stock.schemas.refs import ItemRef, LocationRef, UserRef
from models.catalog import Material, Supplier
from models.identity import User
from models.stock import Location, Period
from services.stock.views import item_ref, location_ref, user_ref

IsoDate = Annotated[str, Field(json_schema_extra={"format": "date"})]
"""A date a service has already written (`2025-12-25`)."""
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""A time a service has already written, UTC with `Z`."""


class SupplierRef(BaseModel):
    id: str
    code: str
    name: str


class PeriodNameRef(BaseModel):
    """The period a document was posted in."""

    id: str
    name: str


class StockDeletedOut(BaseModel):
    """A draft deleted: `{"success": true, "id", "message"}`."""

    success: Literal[True]
    id: str
    message: str


# -- deliveries -----------------------------------------------------------------------------------------------

class DeliveryHeaderOut(BaseModel):
    id: str
    delivery_no: str
    delivery_date: date
    invoice_no: str | None
    total_amount: float
    has_variance: bool
    status: str


class DeliverySummaryOut(DeliveryHeaderOut):
    """A delivery in a location's list."""

    delivery_note: str | None
    location: LocationRef
    supplier: SupplierRef
    created_at: UtcDateTime
    posted_at: UtcDateTime | None


class DeliveryListOut(BaseModel):
    deliveries: list[DeliverySummaryOut]
    total: int
    page: int
    limit: int


class DeliveryLineOut(BaseModel):
    id: str
    line_no: int
    item: ItemRef
    quantity: float
    unit_price: float
    total: float
    period_price: float | None
    has_variance: bool


class RaisedNcrOut(BaseModel):
    """A price-variance NCR the posting raised."""

    id: str
    ncr_no: str
    type: str
    item: ItemRef | None
    expected_price: float | None
    actual_price: float | None
    variance: float | None
    variance_percent: float | None


class DeliveryNcrOut(RaisedNcrOut):
    """An NCR of the delivery, with where its claim stands."""

    status: str
    total_value: float | None


class DeliveryOut(DeliverySummaryOut):
    """One delivery with its lines and NCRs."""

    period: PeriodNameRef | None
    created_by: UserRef | None
    posted_by: UserRef | None
    lines: list[DeliveryLineOut]
    ncrs: list[DeliveryNcrOut]


class DeliverySavedOut(BaseModel):
    """A delivery created or edited: the delivery, its lines and the NCRs this call raised."""

    id: str
    message: str
    delivery: DeliveryHeaderOut
    lines: list[DeliveryLineOut]
    ncrs: list[RaisedNcrOut]


# -- issues ---------------------------------------------------------------------------------------------------

class IssueHeaderOut(BaseModel):
    id: str
    issue_no: str
    issue_date: date
    cost_centre: str
    total_value: float


class IssueSummaryOut(IssueHeaderOut):
    """An issue in a location's list."""

    location: LocationRef
    created_at: UtcDateTime


class IssueListOut(BaseModel):
    issues: list[IssueSummaryOut]
    total: int
    page: int
    limit: int


class IssueLineOut(BaseModel):
    item: ItemRef
    quantity: float
    wac: float
    value: float


class IssueOut(IssueSummaryOut):
    """One issue with its lines."""

    notes: str | None
    period: PeriodNameRef | None
    created_by: UserRef | None
    lines: list[IssueLineOut]


class IssueCreatedOut(BaseModel):
    issue: IssueHeaderOut
    lines: list[IssueLineOut]


# -- builders of the references (services/stock/views.py says what each holds) ---------------------------------

def item_of(item: Material) -> ItemRef:
    return ItemRef.model_validate(item_ref(item))


def location_of(location: Location) -> LocationRef:
    return LocationRef.model_validate(location_ref(location))


def user_of(user: User | None) -> UserRef | None:
    ref = user_ref(user)
    return UserRef.model_validate(ref) if ref is not None else None


def supplier_of(supplier: Supplier) -> SupplierRef:
    return SupplierRef(id=str(supplier.uid), code=supplier.code, name=supplier.name)


def period_of(period: Period | None) -> PeriodNameRef | None:
    return PeriodNameRef(id=str(period.uid), name=period.name) if period is not None else None
