"""Stock contract (multi-location-stock.md §3, §4), periods and their locations' readiness. Everyone
signed in reads; creating, changing, opening and pricing periods is ADMIN only. A location is marked
ready (or not) by a SUPERVISOR or ADMIN, or by an OPERATOR assigned to it. Closing and rolling forward
live in stock_period_close."""

from typing import Annotated, Any

from fastapi import Response
from pydantic import AliasChoices, Field, StringConstraints

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import FlexDate, PageDep, StockBody, stock_router, with_total
from api.stock.roles import StockAdmin
from api.stock.schemas.catalog import Price, PriceOut, PricesCopiedOut, PricesSetOut, period_ref, price_out
from api.stock.schemas.periods import (
    CurrentPeriodOut,
    PeriodDetailOut,
    PeriodOut,
    ReadinessOut,
    current_out,
    period_detail_out,
    period_out,
    readiness_out,
)
from core.permissions import Perm
from core.timeutil import utcnow
from services.identity import Principal
from services.stock.periods import periods as stock_periods
from services.stock.periods import prices as stock_prices
from services.stock.periods.readiness import mark_location
from services.stock.records import invalid_field

router = stock_router(tags=["stock: periods"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_PRICES = 5000


class PeriodCreate(StockBody):
    name: Name
    start_date: FlexDate
    end_date: FlexDate


class PeriodUpdate(StockBody):
    name: Name | None = None
    start_date: FlexDate | None = None
    end_date: FlexDate | None = None


class ItemPriceEntry(StockBody):
    item_id: str = Field(validation_alias=AliasChoices("item_id", "itemId"))
    price: Price


class PricesSet(StockBody):
    prices: Annotated[list[ItemPriceEntry], Field(min_length=1, max_length=MAX_PRICES)]


class PeriodLocationMark(StockBody):
    period_id: str = Field(validation_alias=AliasChoices("periodId", "period_id"))
    location_id: str = Field(validation_alias=AliasChoices("locationId", "location_id"))


@router.get("/periods", response_model=list[PeriodOut])
def list_periods(session: SessionDep, user: CurrentUser, page: PageDep, response: Response) -> Any:
    rows, total = stock_periods.list_periods(session, page.offset, page.limit)
    with_total(response, total)
    return [period_out(period) for period in rows]


@router.get("/periods/current", response_model=CurrentPeriodOut)
def current_period(session: SessionDep, user: CurrentUser) -> Any:
    """The OPEN period covering today (UTC), else the latest OPEN or PENDING_CLOSE one."""
    return current_out(session, stock_periods.current_period(session, utcnow().date()))


@router.post("/periods", response_model=PeriodDetailOut)
def create_period(body: PeriodCreate, session: SessionDep, user: StockAdmin) -> Any:
    return period_detail_out(session, stock_periods.create_period(session, user.id, body.model_dump()))


@router.get("/periods/{period_id}", response_model=PeriodDetailOut)
def get_period(period_id: SafeStr, session: SessionDep, user: CurrentUser) -> Any:
    return period_detail_out(session, stock_periods.get_period(session, period_id))


@router.patch("/periods/{period_id}", response_model=PeriodDetailOut)
def update_period(period_id: SafeStr, body: PeriodUpdate, session: SessionDep, user: StockAdmin) -> Any:
    values = body.model_dump(exclude_unset=True)
    return period_detail_out(session, stock_periods.update_period(session, user.id, period_id, values))


@router.post("/periods/{period_id}/open", response_model=PeriodDetailOut)
def open_period(period_id: SafeStr, session: SessionDep, user: StockAdmin) -> Any:
    return period_detail_out(session, stock_periods.open_period(session, user.id, period_id))


@router.get("/periods/{period_id}/prices", response_model=list[PriceOut])
def list_prices(period_id: SafeStr, session: SessionDep, user: CurrentUser, page: PageDep, response: Response) -> Any:
    rows, total = stock_prices.list_prices(session, period_id, page.offset, page.limit)
    with_total(response, total)
    return [price_out(row) for row in rows]


@router.post("/periods/{period_id}/prices", response_model=PricesSetOut)
def set_prices(period_id: SafeStr, body: PricesSet, session: SessionDep, user: StockAdmin) -> Any:
    """Upsert the listed items' prices (an item listed twice is refused)."""
    seen: set[str] = set()
    for index, entry in enumerate(body.prices):
        if entry.item_id.lower() in seen:
            raise invalid_field(["prices", index, "item_id"], f"Item {entry.item_id} is listed more than once")
        seen.add(entry.item_id.lower())
    period, rows = stock_prices.set_prices(session, user.id, period_id,
                                           [(entry.item_id, entry.price) for entry in body.prices])
    return {"period": period_ref(period), "updated": len(rows), "prices": [price_out(row) for row in rows]}


@router.post("/periods/{period_id}/prices-copy", response_model=PricesCopiedOut)
def copy_prices(period_id: SafeStr, session: SessionDep, user: StockAdmin) -> Any:
    """Copy the previous period's prices, keeping the prices this period already has."""
    result = stock_prices.copy_previous_prices(session, user.id, period_id)
    return {"period": period_ref(result.period), "source_period": period_ref(result.source),
            "copied": result.copied, "skipped": result.skipped}


@router.patch("/period-locations/ready", response_model=ReadinessOut)
def mark_ready(body: PeriodLocationMark, session: SessionDep,
               user: Principal = require(Perm.STOCK_POST)) -> Any:
    return readiness_out(mark_location(session, user, body.period_id, body.location_id, ready=True))


@router.patch("/period-locations/unready", response_model=ReadinessOut)
def mark_not_ready(body: PeriodLocationMark, session: SessionDep,
                   user: Principal = require(Perm.STOCK_POST)) -> Any:
    return readiness_out(mark_location(session, user, body.period_id, body.location_id, ready=False))
