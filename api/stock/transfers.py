"""Stock contract (multi-location-stock.md) §10, transfers: each a lifecycle `transfer-{uid}`."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import Field

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, TemporalDep, require
from api.stock.common import FlexDate, PageDep, StockBody, stock_router, with_total
from api.stock.schemas.transfers import TransferCreatedOut, TransferDecidedOut, TransferListOut, TransferOut
from api.stock.transfer_calls import decide_transfer, request_transfer
from core.permissions import Perm
from dto.approvals import ApprovalAction
from dto.stock import TransferLineInput
from services.stock import transfer_reads

router = stock_router(tags=["stock: transfers"])
Status = Literal["PENDING_APPROVAL", "APPROVED", "COMPLETED", "REJECTED"]


class TransferLineBody(StockBody):
    item_id: str
    quantity: Decimal = Field(gt=0, max_digits=14, decimal_places=3)


class TransferBody(StockBody):
    from_location_id: str
    to_location_id: str
    request_date: FlexDate
    notes: str | None = Field(default=None, max_length=2000)
    lines: list[TransferLineBody] = Field(min_length=1, max_length=500)


class ApproveBody(StockBody):
    comments: str | None = Field(default=None, max_length=2000)


class RejectBody(StockBody):
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/transfers", dependencies=[require(Perm.STOCK_VIEW)])
def list_transfers(session: SessionDep, user: CurrentUser, page: PageDep, response: Response,
                   from_location_id: Annotated[SafeStr | None, Query(alias="fromLocationId")] = None,
                   to_location_id: Annotated[SafeStr | None, Query(alias="toLocationId")] = None,
                   status: Status | None = None,
                   start_date: Annotated[FlexDate | None, Query(alias="startDate")] = None,
                   end_date: Annotated[FlexDate | None, Query(alias="endDate")] = None) -> TransferListOut:
    transfers, total = transfer_reads.list_transfers(
        session, user, from_location=from_location_id, to_location=to_location_id, status=status, start=start_date,
        end=end_date, offset=page.offset, limit=page.limit)
    with_total(response, total)
    return TransferListOut.model_validate({"transfers": transfers, "total": total, "page": page.page,
                                           "limit": page.limit})


@router.get("/transfers/{transfer_id}", dependencies=[require(Perm.STOCK_VIEW)])
def get_transfer(transfer_id: SafeStr, session: SessionDep, user: CurrentUser) -> TransferOut:
    return TransferOut.model_validate(transfer_reads.get_transfer(session, user, transfer_id))


@router.post("/transfers", dependencies=[require(Perm.STOCK_POST)])
async def create_transfer(body: TransferBody, request: Request, client: TemporalDep,
                          user: CurrentUser) -> TransferCreatedOut:
    lines = [TransferLineInput(item_uid=line.item_id, quantity=line.quantity) for line in body.lines]
    view = await request_transfer(request, client, user, body.from_location_id, body.to_location_id,
                                  body.request_date, body.notes, lines)
    return TransferCreatedOut(message="Transfer created successfully and is pending approval",
                              transfer=TransferOut.model_validate(view.body))


@router.patch("/transfers/{transfer_id}/approve")
async def approve_transfer(transfer_id: SafeStr, request: Request, client: TemporalDep, user: CurrentUser,
                           body: ApproveBody | None = None) -> TransferDecidedOut:
    view = await decide_transfer(request, client, user, transfer_id, ApprovalAction.APPROVED,
                                 body.comments if body else None)
    return decided(view.body, "Transfer approved; stock moved")


@router.patch("/transfers/{transfer_id}/reject")
async def reject_transfer(transfer_id: SafeStr, body: RejectBody, request: Request, client: TemporalDep,
                          user: CurrentUser) -> TransferDecidedOut:
    view = await decide_transfer(request, client, user, transfer_id, ApprovalAction.REJECTED, body.reason)
    return decided(view.body, "Transfer rejected")


def decided(transfer: dict[str, Any], message: str) -> TransferDecidedOut:
    """The transfer itself (the contract: "Transfer with status COMPLETED"), also under `transfer` with a
    `message`, the shape of the create answer."""
    return TransferDecidedOut.model_validate({**transfer, "message": message, "transfer": transfer})
