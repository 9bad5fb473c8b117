"""Stock contract (multi-location-stock.md), dashboards: a location's (§1, everyone at their locations), the
consolidated one (§2) and the consolidated stock (§5), both SUPERVISOR/ADMIN. Both dashboards take an
optional `periodId` (an addition: the current period otherwise). Figures: services/stock/dashboards.py and
services/stock/consolidated.py."""

from typing import Annotated

from fastapi import Query

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import PageDep, stock_router, with_total
from api.stock.rendering import StockJSON
from api.stock.schemas.reports import ConsolidatedDashboardOut, ConsolidatedStockOut, LocationDashboardOut
from core.permissions import Perm
from core.timeutil import utcnow
from services.stock import consolidated as stock_consolidated
from services.stock import dashboards as stock_dashboards
from services.stock.consolidated import StockFilters

router = stock_router(tags=["stock: dashboards"])

PeriodParam = Annotated[SafeStr | None, Query(alias="periodId")]


@router.get("/locations/{location_id}/dashboard", dependencies=[require(Perm.STOCK_VIEW)], response_class=StockJSON,
            response_model=LocationDashboardOut)
def location_dashboard(location_id: SafeStr, session: SessionDep, user: CurrentUser,
                       period_id: PeriodParam = None) -> StockJSON:
    return StockJSON(stock_dashboards.location_dashboard(session, user, location_id, period_id, utcnow().date()))


@router.get("/dashboard/consolidated", dependencies=[require(Perm.STOCK_CONSOLIDATED)], response_class=StockJSON,
            response_model=ConsolidatedDashboardOut)
def consolidated_dashboard(session: SessionDep, period_id: PeriodParam = None) -> StockJSON:
    return StockJSON(stock_dashboards.consolidated_dashboard(session, period_id, utcnow().date()))


@router.get("/stock/consolidated", dependencies=[require(Perm.STOCK_CONSOLIDATED)], response_class=StockJSON,
            response_model=ConsolidatedStockOut)
def consolidated_stock(session: SessionDep, page: PageDep,
                       category: Annotated[SafeStr | None, Query()] = None,
                       low_stock: Annotated[bool, Query(alias="lowStock")] = False) -> StockJSON:
    """A page of items (`?page=&limit=`, `X-Total-Count` = items the filters keep); totals over all of them."""
    body = stock_consolidated.consolidated_stock(session, StockFilters(category, low_stock), page.offset,
                                                 page.limit)
    response = StockJSON(body)
    with_total(response, body["total_items"])
    return response
