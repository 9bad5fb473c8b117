"""Stock contract (multi-location-stock.md) §3, closing a period (a lifecycle `period-close-{uid}`) and
rolling it forward."""

from typing import Any

from fastapi import Request
from pydantic import Field

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, TemporalDep, require
from api.stock.common import StockBody, stock_router
from api.stock.period_close_calls import request_close
from api.stock.schemas.periods import PeriodCloseRequestedOut, RolledForwardOut
from core.permissions import Perm
from services.stock.periods import close as stock_period_close

router = stock_router(tags=["stock: period close"])


class CloseBody(StockBody):
    closing_notes: str | None = Field(default=None, max_length=4000)


class RollForwardBody(StockBody):
    copy_prices: bool = Field(default=False, alias="copyPrices")

    model_config = {**StockBody.model_config, "populate_by_name": True}


@router.post("/periods/{period_id}/close", dependencies=[require(Perm.STOCK_PERIODS)],
             response_model=PeriodCloseRequestedOut)
async def close_period(period_id: SafeStr, request: Request, client: TemporalDep, user: CurrentUser,
                       body: CloseBody | None = None) -> Any:
    view = await request_close(request, client, user, period_id, body.closing_notes if body else None)
    return {"message": "Period close requested and pending approval", "period": view.body,
            "approval_id": view.body.get("close_approval_id")}


@router.post("/periods/{period_id}/roll-forward", dependencies=[require(Perm.STOCK_PERIODS)],
             response_model=RolledForwardOut)
def roll_forward(period_id: SafeStr, session: SessionDep, user: CurrentUser,
                 body: RollForwardBody | None = None) -> Any:
    result = stock_period_close.roll_forward(session, period_id, user.id, body.copy_prices if body else False)
    return {"message": f"Period {result['period']['name']} created; opening stock carried forward", **result}
