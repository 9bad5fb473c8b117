"""Bodies of transfers (multi-location-stock.md §10), as services/stock/transfer_reads.py renders a transfer:
ids are `uid`s, numbers JSON numbers, dates ISO dates, times UTC with `Z` (strings the service has written)."""

from pydantic import BaseModel

from api.stock.schemas.documents import IsoDate, IsoTime
from api.stock.schemas.refs import ItemRef, LocationRef, UserRef


class TransferLineOut(BaseModel):
    id: str
    item: ItemRef
    unit: str
    quantity: float
    wac: float
    value: float


class TransferOut(BaseModel):
    """A transfer: who asked, who decided (`approved_by` once COMPLETED, `rejected_by` once REJECTED), its
    lines at the source's WAC, and the approval that decides it."""

    id: str
    transfer_no: str
    request_date: IsoDate
    status: str
    total_value: float
    notes: str | None
    from_location: LocationRef | None
    to_location: LocationRef | None
    lines: list[TransferLineOut]
    requested_by: UserRef | None
    approved_by: UserRef | None
    rejected_by: UserRef | None
    rejection_reason: str | None
    approval_id: str | None
    decided_at: IsoTime | None
    completed_at: IsoTime | None
    created_at: IsoTime
    updated_at: IsoTime


class TransferListOut(BaseModel):
    transfers: list[TransferOut]
    total: int
    page: int
    limit: int


class TransferCreatedOut(BaseModel):
    message: str
    transfer: TransferOut


class TransferDecidedOut(TransferOut):
    """A decided transfer: the transfer itself (the contract: "Transfer with status COMPLETED"), and again under
    `transfer` with a `message`, the shape of the create answer."""

    message: str
    transfer: TransferOut
