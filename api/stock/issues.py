"""Stock contract (multi-location-stock.md §9), issues: a location's list, one issue, create (rules:
services/stock/issues.py). Issues are immutable: no edit, no delete. Viewing needs `stock.view`, issuing
`stock.post`; an OPERATOR works only at the locations assigned to them."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import Field, StringConstraints

from api.contracts.types import SafeStr
from api.deps import SessionDep, require
from api.stock.common import FlexDate, PageDep, StockBody, number, stock_router, with_total
from core.permissions import Perm
from core.timeutil import iso_z
from models.catalog import Material
from models.stock import Location, StockIssue, StockIssueLine
from services.identity import Principal
from services.stock import issues as stock_issues
from services.stock.issues import IssueDetails, IssueFilters, IssueInput, IssueLineInput
from services.stock.views import item_ref, location_ref, user_ref

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
        end_date: Annotated[FlexDate | None, Query(alias="endDate")] = None) -> dict[str, Any]:
    filters = IssueFilters(cost_centre, start_date, end_date)
    location, rows, total = stock_issues.list_issues(session, user, location_id, filters, page.offset, page.limit)
    with_total(response, total)
    return {"issues": [_summary(row, location) for row in rows], "total": total, "page": page.page,
            "limit": page.limit}


@router.get("/issues/{issue_id}")
def get_issue(issue_id: SafeStr, session: SessionDep, user: Principal = VIEW) -> dict[str, Any]:
    found = stock_issues.get_issue(session, user, issue_id)
    return {**_summary(found.issue, found.location), "notes": found.issue.notes,
            "period": {"id": str(found.period.uid), "name": found.period.name} if found.period else None,
            "created_by": user_ref(found.users.get(found.issue.created_by_id or 0)),
            "lines": _lines(found)}


@router.post("/locations/{location_id}/issues")
def create_issue(location_id: SafeStr, body: IssueBody, session: SessionDep, user: Principal = POST) -> dict[str, Any]:
    """Issue stock at the current WAC: every line or (on a shortage) none."""
    data = IssueInput(body.issue_date, body.cost_centre,
                      [IssueLineInput(line.item_id, line.quantity) for line in body.lines], body.notes)
    found = stock_issues.create_issue(session, user, location_id, data)
    return {"issue": _header(found.issue), "lines": _lines(found)}


def _header(issue: StockIssue) -> dict[str, Any]:
    return {"id": str(issue.uid), "issue_no": issue.issue_no, "issue_date": issue.issue_date.isoformat(),
            "cost_centre": issue.cost_centre, "total_value": number(issue.total_value)}


def _summary(issue: StockIssue, location: Location) -> dict[str, Any]:
    return {**_header(issue), "location": location_ref(location), "created_at": iso_z(issue.created_at)}


def _lines(found: IssueDetails) -> list[dict[str, Any]]:
    return [_line(line, found.items[line.item_id]) for line in found.lines]


def _line(line: StockIssueLine, item: Material) -> dict[str, Any]:
    return {"item": item_ref(item), "quantity": number(line.quantity), "wac": number(line.wac),
            "value": number(line.value)}
