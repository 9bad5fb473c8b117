"""Stock contract (multi-location-stock.md) §11, NCRs: each a lifecycle `ncr-{uid}`."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, TemporalDep, in_transaction, require
from api.stock.common import FlexDate, PageDep, StockBody, stock_router, with_total
from api.stock.ncr_calls import change_status, start_ncr_lifecycles
from api.stock.schemas.ncrs import NcrListOut, NcrOut
from core.permissions import Perm
from dto.stock import NcrStatus
from services.identity import Principal
from services.stock import ncrs as stock_ncrs

router = stock_router(tags=["stock: ncrs"])


class NcrLineBody(StockBody):
    item_id: str
    quantity: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    value: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


class ManualNcrBody(StockBody):
    location_id: str
    delivery_id: str | None = None
    reason: str = Field(min_length=1, max_length=4000)
    lines: list[NcrLineBody] = Field(default_factory=list, max_length=500)


class NcrStatusBody(StockBody):
    status: NcrStatus
    resolution: str | None = Field(default=None, max_length=4000)
    credited_value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


@router.get("/ncrs", dependencies=[require(Perm.STOCK_VIEW)])
def list_ncrs(session: SessionDep, user: CurrentUser, page: PageDep, response: Response,
              location_id: Annotated[SafeStr | None, Query(alias="locationId")] = None,
              type: Literal["MANUAL", "PRICE_VARIANCE"] | None = None, status: NcrStatus | None = None,
              start_date: Annotated[FlexDate | None, Query(alias="startDate")] = None,
              end_date: Annotated[FlexDate | None, Query(alias="endDate")] = None) -> NcrListOut:
    ncrs, total = stock_ncrs.list_ncrs(session, user, location_uid=location_id, kind=type,
                                       status=status.value if status else None, start=start_date, end=end_date,
                                       offset=page.offset, limit=page.limit)
    with_total(response, total)
    return NcrListOut.model_validate({"ncrs": ncrs, "total": total, "page": page.page, "limit": page.limit})


@router.get("/ncrs/{ncr_id}", dependencies=[require(Perm.STOCK_VIEW)])
def get_ncr(ncr_id: SafeStr, session: SessionDep, user: CurrentUser) -> NcrOut:
    return NcrOut.model_validate(stock_ncrs.get(session, user, ncr_id))


def _raise(session: Session, user: Principal, body: ManualNcrBody) -> dict[str, Any]:
    ncr = stock_ncrs.create_manual(session, user, location_uid=body.location_id, delivery_uid=body.delivery_id,
                                   reason=body.reason, lines=[line.model_dump() for line in body.lines])
    return stock_ncrs.render(session, ncr)


@router.post("/ncrs", dependencies=[require(Perm.STOCK_POST)])
async def create_ncr(body: ManualNcrBody, request: Request, client: TemporalDep, user: CurrentUser) -> NcrOut:
    ncr = await in_transaction(request, _raise, user, body)
    await start_ncr_lifecycles(client, [ncr["id"]])
    return NcrOut.model_validate(ncr)


@router.patch("/ncrs/{ncr_id}", dependencies=[require(Perm.STOCK_MANAGE_NCRS)])
async def update_ncr_status(ncr_id: SafeStr, body: NcrStatusBody, request: Request, client: TemporalDep,
                            user: CurrentUser) -> NcrOut:
    await in_transaction(request, stock_ncrs.get, user, ncr_id)  # 404 / location access first
    view = await change_status(request, client, user, ncr_id, body.status, body.resolution, body.credited_value)
    return NcrOut.model_validate(view.body)
