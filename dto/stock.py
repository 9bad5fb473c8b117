"""What crosses the workflow boundary for the stock lifecycles (transfers, NCRs, period close): small
pydantic models, no ORM. Rendered bodies travel as plain dicts in the contract's own shape."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from dto.activity import ActivityRef
from dto.approvals import ApprovalOutcome, ApprovalRequest, DecisionEffect, TaskView
from dto.identity import Actor


class TransferStatus(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"


class TransferLineInput(BaseModel):
    item_uid: str
    quantity: Decimal


class CreateTransfer(BaseModel):
    actor: Actor
    transfer_uid: str
    from_location_uid: str
    to_location_uid: str
    request_date: date
    notes: str | None = None
    lines: list[TransferLineInput]


class TransferView(BaseModel):
    """A transfer as the contract renders it (`body`), with what its lifecycle needs to know."""

    id: int
    status: TransferStatus
    approval: ApprovalRequest | None = None
    body: dict[str, Any]


class TransferResult(BaseModel):
    """What a `TransferV2` lifecycle needs of its transfer (the API reads the body from PostgreSQL)."""

    id: int
    status: TransferStatus
    transfer_no: str
    route: str  # "<from code> → <to code>", for the Temporal UI
    total_value: Decimal
    approval: ApprovalRequest | None = None  # while it waits for its decision (step 1 open)


class TransferDecisionEffect(BaseModel):
    transfer_uid: str
    decision: DecisionEffect


class TransferDecided(BaseModel):
    task: TaskView
    transfer: TransferResult


class TransferInput(BaseModel):
    transfer_uid: str


class TransferOutcomeEffect(BaseModel):
    transfer_uid: str
    outcome: ApprovalOutcome
    op_key: str


class NcrStatus(StrEnum):
    OPEN = "OPEN"
    SENT = "SENT"
    CREDITED = "CREDITED"
    CLOSED = "CLOSED"


NCR_NEXT: dict[NcrStatus, tuple[NcrStatus, ...]] = {
    NcrStatus.OPEN: (NcrStatus.SENT, NcrStatus.CLOSED), NcrStatus.SENT: (NcrStatus.CREDITED,),
    NcrStatus.CREDITED: (NcrStatus.CLOSED,), NcrStatus.CLOSED: ()}


class NcrInput(BaseModel):
    ncr_uid: str
    status: NcrStatus = NcrStatus.OPEN
    follow_up_seconds: int = 7 * 86400


class NcrTransition(BaseModel):
    actor: Actor
    status: NcrStatus
    resolution: str | None = None
    credited_value: Decimal | None = None
    ncr_uid: str = ""  # set by the lifecycle
    op_key: str = ""


class NcrView(BaseModel):
    id: int
    status: NcrStatus
    body: dict[str, Any]


class NcrFollowUp(BaseModel):
    ncr_uid: str
    sent_round: int


class PeriodCloseStatus(StrEnum):
    OPEN = "OPEN"
    PENDING_CLOSE = "PENDING_CLOSE"
    CLOSED = "CLOSED"


class RequestPeriodClose(BaseModel):
    actor: Actor
    period_uid: str
    closing_notes: str | None = None


class PeriodCloseView(BaseModel):
    id: int
    status: PeriodCloseStatus
    approval: ApprovalRequest | None = None
    chunk_size: int = 500  # stock rows per snapshot activity (setting PERIOD_CLOSE_CHUNK_SIZE at request time)
    body: dict[str, Any]


class PeriodCloseInput(BaseModel):
    period_uid: str


class CloseOutcomeEffect(BaseModel):
    period_uid: str
    outcome: ApprovalOutcome
    op_key: str


class SnapshotChunk(BaseModel):
    """Snapshot the closing stock of the locations after `after_location_id` (at most `limit` stock rows,
    whole locations only); resumable because each row's insert is a no-op when it exists."""

    period_uid: str
    after_location_id: int
    limit: int


class SnapshotProgress(BaseModel):
    last_location_id: int | None  # None: nothing was left to snapshot
    locations_done: int
    locations_total: int


# The stock activities (activities/stock.py): the names their histories record.
# `TransferV2` (its approval inside it):
REQUEST_TRANSFER = ActivityRef[CreateTransfer, TransferResult]("request_transfer", TransferResult)
DECIDE_TRANSFER = ActivityRef[TransferDecisionEffect, TransferDecided]("decide_transfer", TransferDecided)
WITHDRAW_TRANSFER = ActivityRef[TransferOutcomeEffect, TransferResult]("withdraw_transfer", TransferResult)
# `Transfer` lifecycles started before `TransferV2`:
CREATE_TRANSFER = ActivityRef[CreateTransfer, TransferView]("create_transfer", TransferView)
APPLY_TRANSFER_OUTCOME = ActivityRef[TransferOutcomeEffect, TransferView]("apply_transfer_outcome", TransferView)
# NCRs:
TRANSITION_NCR = ActivityRef[NcrTransition, NcrView]("transition_ncr", NcrView)
FOLLOW_UP_NCR = ActivityRef[NcrFollowUp, None]("follow_up_ncr", type(None))
# Period close (the snapshot chunks run as regular activities):
REQUEST_PERIOD_CLOSE = ActivityRef[RequestPeriodClose, PeriodCloseView]("request_period_close", PeriodCloseView)
REOPEN_PERIOD = ActivityRef[CloseOutcomeEffect, PeriodCloseView]("reopen_period", PeriodCloseView)
SNAPSHOT_CLOSING_STOCK = ActivityRef[SnapshotChunk, SnapshotProgress]("snapshot_closing_stock", SnapshotProgress)
FINISH_PERIOD_CLOSE = ActivityRef[CloseOutcomeEffect, PeriodCloseView]("finish_period_close", PeriodCloseView)
