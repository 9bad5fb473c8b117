"""Stock contract (multi-location-stock.md), reports (§16): stock-now, deliveries, issues and reconciliation.
JSON by default (body: services/stock/reports.py); CSV with `Accept: text/csv` (or `?format=csv`), one row
per line item (per location for the reconciliation), named `<report>-<location code>-<period name>.csv`
(stock-now: today's date for the period; the reconciliation of all locations: `ALL`). Everyone signed in
with `stock.view`; an OPERATOR only at the locations assigned to them."""

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Query, Request, Response

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import stock_router
from api.stock.rendering import StockJSON, csv_response, filename, wants_csv
from api.stock.schemas.reports import (
    CSV_ANSWER,
    DeliveriesReportOut,
    IssuesReportOut,
    ReconciliationReportOut,
    StockNowReportOut,
)
from core.permissions import Perm
from core.timeutil import utcnow
from services.stock import reports as stock_reports

router = stock_router(tags=["stock: reports"], dependencies=[require(Perm.STOCK_VIEW)])

LocationParam = Annotated[SafeStr, Query(alias="locationId", min_length=1)]
PeriodParam = Annotated[SafeStr, Query(alias="periodId", min_length=1)]

ITEM = ("item_code", "item_name", "item_unit", "item_category")
RECONCILIATION = ("opening_stock", "receipts", "transfers_in", "transfers_out", "issues", "closing_stock",
                  "back_charges", "credits", "ncr_credits", "condemnations", "adjustments", "consumption",
                  "total_adjustments", "total_mandays", "manday_cost", "is_confirmed")

Rows = Callable[[dict[str, Any]], Iterator[list[Any]]]


def _stock_rows(body: dict[str, Any]) -> Iterator[list[Any]]:
    for row in body["rows"]:
        yield [row[k] for k in (*ITEM, "on_hand", "wac", "value", "min_stock", "max_stock", "is_low_stock")]


def _delivery_rows(body: dict[str, Any]) -> Iterator[list[Any]]:
    for row in body["rows"]:
        head = [row["delivery_no"], row["delivery_date"], row["invoice_no"], row["supplier"]["code"],
                row["supplier"]["name"]]
        for line in row["lines"]:
            yield head + [line[k] for k in ("line_no", *ITEM, "quantity", "unit_price", "period_price",
                                            "line_total", "has_variance")]


def _issue_rows(body: dict[str, Any]) -> Iterator[list[Any]]:
    for row in body["rows"]:
        head = [row["issue_no"], row["issue_date"], row["cost_centre"]]
        for line in row["lines"]:
            yield head + [line[k] for k in ("line_no", *ITEM, "quantity", "wac", "value")]


def _reconciliation_rows(body: dict[str, Any]) -> Iterator[list[Any]]:
    for row in body["rows"]:
        yield [row["location"]["code"], row["location"]["name"], *(row[k] for k in RECONCILIATION)]


HEADERS: dict[str, tuple[tuple[str, ...], Rows]] = {
    "stock-now": ((*ITEM, "on_hand", "wac", "value", "min_stock", "max_stock", "is_low_stock"), _stock_rows),
    "deliveries": (("delivery_no", "delivery_date", "invoice_no", "supplier_code", "supplier_name", "line_no",
                    *ITEM, "quantity", "unit_price", "period_price", "line_total", "has_variance"), _delivery_rows),
    "issues": (("issue_no", "issue_date", "cost_centre", "line_no", *ITEM, "quantity", "wac", "value"),
               _issue_rows),
    "reconciliation": (("location_code", "location_name", *RECONCILIATION), _reconciliation_rows),
}


def _answer(request: Request, body: dict[str, Any]) -> Response:
    if not wants_csv(request):
        return StockJSON(body)
    header, rows = HEADERS[body["report"]]
    location = body["location"]["code"] if body["location"] else "ALL"
    period = body["period"]["name"] if body["period"] else body["generated_at"][:10]
    return csv_response(filename(body["report"], location, period), header, rows(body))


@router.get("/reports/stock-now", response_model=StockNowReportOut, responses={200: CSV_ANSWER})
def stock_now(request: Request, session: SessionDep, user: CurrentUser, location_id: LocationParam,
              category: Annotated[SafeStr | None, Query()] = None) -> Response:
    return _answer(request, stock_reports.stock_now(session, user, location_id, category, utcnow()))


@router.get("/reports/deliveries", response_model=DeliveriesReportOut, responses={200: CSV_ANSWER})
def deliveries(request: Request, session: SessionDep, user: CurrentUser, location_id: LocationParam,
               period_id: PeriodParam,
               supplier_id: Annotated[SafeStr | None, Query(alias="supplierId")] = None) -> Response:
    return _answer(request, stock_reports.deliveries(session, user, location_id, period_id, supplier_id or None,
                                                     utcnow()))


@router.get("/reports/issues", response_model=IssuesReportOut, responses={200: CSV_ANSWER})
def issues(request: Request, session: SessionDep, user: CurrentUser, location_id: LocationParam,
           period_id: PeriodParam,
           cost_centre: Annotated[SafeStr | None, Query(alias="costCentre")] = None) -> Response:
    return _answer(request, stock_reports.issues(session, user, location_id, period_id, cost_centre or None,
                                                 utcnow()))


@router.get("/reports/reconciliation", response_model=ReconciliationReportOut, responses={200: CSV_ANSWER})
def reconciliation(request: Request, session: SessionDep, user: CurrentUser, period_id: PeriodParam,
                   location_id: Annotated[SafeStr | None, Query(alias="locationId")] = None) -> Response:
    return _answer(request, stock_reports.reconciliation(session, user, period_id, location_id or None, utcnow()))
