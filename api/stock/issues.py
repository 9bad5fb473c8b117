"""Stock contract (multi-location-stock.md §9), issues: a location's list, one issue, create (rules:
services/stock/issues.py). Issues are immutable: no edit, no delete. Viewing needs `stock.view`, issuing
`stock.post`; an OPERATOR works only at the locations assigned to them."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import Field, StringConstraints

from api.contracts.types import SafeStr
from api.deps import SessionDep, require
from api.stock.common import FlexDate, PageDep, StockBody, stock_router, with_total
from api.stock.schemas.documents import (
    IssueCreatedOut,
    IssueHeaderOut,
    IssueLineOut,
    IssueListOut,
    IssueOut,
    IssueSummaryOut,
    item_of,
    location_of,
    period_of,
    user_of,
)
from core.permissions import Perm
from models.catalog import Material
from models.stock import Location, StockIssue, StockIssueLine
from services.identity import Principal
from services.stock import issues as stock_issues
from services.stock.issues import IssueDetails, IssueFilters, IssueInput, IssueLineInput

router = stock_router(tags=["stock: issues"])

VIEW = require(Perm.STOCK_VIEW)
POST = require(Perm.STOCK_POST)
Quantity = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=3)]


class IssueLineBody(StockBody):
    item_id: str
    quantity: Quantity


class IssueBody(StockBody):
    issue_date: FlexDate
    cost_centre: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    notes: str | None = None
    lines: Annotated[list[IssueLineBody], Field(min_length=1, max_length=500)]


@router.get("/locations/{location_id}/issues")
def list_location_issues(
        location_id: SafeStr, session: SessionDep, response: Response, page: PageDep, user: Principal = VIEW,
        cost_centre: Annotated[SafeStr | None, Query(alias="costCentre")] = None,
        start_date: Annotated[FlexDate | None, Query(alias="startDate")] = None,
        end_date: Annotated[FlexDate | None, Query(alias="endDate")] = None) -> IssueListOut:
    filters = IssueFilters(cost_centre, start_date, end_date)
    location, rows, total = stock_issues.list_issues(session, user, location_id, filters, page.offset, page.limit)
    with_total(response, total)
    return IssueListOut(issues=[_summary(row, location) for row in rows], total=total, page=page.page,
                        limit=page.limit)


@router.get("/issues/{issue_id}")
def get_issue(issue_id: SafeStr, session: SessionDep, user: Principal = VIEW) -> IssueOut:
    found = stock_issues.get_issue(session, user, issue_id)
    return IssueOut(**_summary_fields(found.issue, found.location), notes=found.issue.notes,
                    period=period_of(found.period),
                    created_by=user_of(found.users.get(found.issue.created_by_id or 0)), lines=_lines(found))


@router.post("/locations/{location_id}/issues")
def create_issue(location_id: SafeStr, body: IssueBody, session: SessionDep,
                 user: Principal = POST) -> IssueCreatedOut:
    """Issue stock at the current WAC: every line or (on a shortage) none."""
    data = IssueInput(body.issue_date, body.cost_centre,
                      [IssueLineInput(line.item_id, line.quantity) for line in body.lines], body.notes)
    found = stock_issues.create_issue(session, user, location_id, data)
    return IssueCreatedOut(issue=IssueHeaderOut(**_header_fields(found.issue)), lines=_lines(found))


# -- rendering (api/stock/schemas/documents.py) ---------------------------------------------------------------

def _header_fields(issue: StockIssue) -> dict[str, Any]:
    return {"id": str(issue.uid), "issue_no": issue.issue_no, "issue_date": issue.issue_date,
            "cost_centre": issue.cost_centre, "total_value": float(issue.total_value)}


def _summary_fields(issue: StockIssue, location: Location) -> dict[str, Any]:
    return {**_header_fields(issue), "location": location_of(location), "created_at": issue.created_at}


def _summary(issue: StockIssue, location: Location) -> IssueSummaryOut:
    return IssueSummaryOut(**_summary_fields(issue, location))


def _lines(found: IssueDetails) -> list[IssueLineOut]:
    return [_line(line, found.items[line.item_id]) for line in found.lines]


def _line(line: StockIssueLine, item: Material) -> IssueLineOut:
    return IssueLineOut(item=item_of(item), quantity=float(line.quantity), wac=float(line.wac),
                        value=float(line.value))
