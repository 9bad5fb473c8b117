"""Stock contract (multi-location-stock.md §12), people on board: one entry per location and day, in an
OPEN period. An OPERATOR sees and records POB only at the locations assigned to them; SUPERVISOR and
ADMIN everywhere."""

from typing import Annotated, Any

from fastapi import Query
from pydantic import AliasChoices, Field

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import FlexDate, StockBody, stock_router
from api.stock.schemas.periods import PobSheetOut, RecordedPobOut, pob_sheet_out, recorded_pob_out
from core.permissions import Perm
from core.timeutil import utcnow
from services.identity import Principal
from services.stock import pob as stock_pob

router = stock_router(tags=["stock: pob"])

Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


class PobCreate(StockBody):
    period_id: str = Field(validation_alias=AliasChoices("periodId", "period_id"))
    date: FlexDate
    crew_count: Count
    extra_count: Count = 0


class PobUpdate(StockBody):
    crew_count: Count | None = None
    extra_count: Count | None = None


@router.get("/locations/{location_id}/pob", response_model=PobSheetOut)
def location_pob(location_id: SafeStr, session: SessionDep, user: CurrentUser,
                 period_id: Annotated[SafeStr | None, Query(alias="periodId")] = None) -> Any:
    """The location's entries of the period (default: the current period) by date, with their totals."""
    return pob_sheet_out(stock_pob.pob_sheet(session, user, location_id, period_id, utcnow().date()))


@router.post("/locations/{location_id}/pob", response_model=RecordedPobOut)
def create_pob_entry(location_id: SafeStr, body: PobCreate, session: SessionDep,
                     user: Principal = require(Perm.STOCK_POST)) -> Any:
    values = {"period_uid": body.period_id, "date": body.date, "crew_count": body.crew_count,
              "extra_count": body.extra_count}
    return recorded_pob_out(stock_pob.create_entry(session, user, location_id, values))


@router.patch("/pob/{entry_id}", response_model=RecordedPobOut)
def update_pob_entry(entry_id: SafeStr, body: PobUpdate, session: SessionDep,
                     user: Principal = require(Perm.STOCK_POST)) -> Any:
    return recorded_pob_out(stock_pob.update_entry(session, user, entry_id, body.model_dump(exclude_unset=True)))
