"""Bodies of the stock contract's approvals (multi-location-stock.md §14; services/stock/approvals.py renders
the approval): the approval in the contract's camelCase and the entity it decides."""

from typing import Literal

from pydantic import BaseModel, Field

from api.stock.schemas.documents import IsoTime
from api.stock.schemas.periods import PeriodCloseOut
from api.stock.schemas.refs import UserRef
from api.stock.schemas.transfers import TransferOut


class ApprovalOut(BaseModel):
    """`reviewer`, `reviewedAt` and `comments` are those of the latest decision, null while none was made."""

    id: str
    entityType: Literal["TRANSFER", "PERIOD_CLOSE"]  # noqa: N815 - the contract's spelling
    entityId: str | None  # noqa: N815
    status: str
    requester: UserRef | None
    reviewer: UserRef | None
    requestedAt: IsoTime  # noqa: N815
    reviewedAt: IsoTime | None  # noqa: N815
    comments: str | None


class ApprovalDetailOut(BaseModel):
    """The approval and its entity: a transfer, or the period whose close it decides (null if it is gone)."""

    approval: ApprovalOut
    entity: TransferOut | PeriodCloseOut | None = Field(union_mode="left_to_right")
