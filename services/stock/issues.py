"""Issues (stock contract §9): stock leaving a location to a cost centre at its current weighted average
cost. An issue needs an open period covering its date, takes all its lines or none (a shortage is 400
INSUFFICIENT_STOCK, checked under the stock rows' locks) and is immutable once written. Never commits.

Locks are taken in one order: the period (share), the stock rows (location, item order), and last the ISS
sequence row: the issue is inserted under a provisional number and numbered as the last write before the
commit (then its audit row), so the sequence row is held only for the commit and a refused issue consumes
no number."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.numbering import provisional, yearly_number
from models.catalog import Material
from models.identity import User
from models.stock import Location, Period, StockIssue, StockIssueLine
from services import audit
from services.identity import Principal
from services.stock import documents, ledger
from services.stock.access import accessible_location, ensure_location_access
from services.stock.posting import period_for_posting
from services.stock.records import ensure_postable


@dataclass(frozen=True)
class IssueLineInput:
    item_uid: str
    quantity: Decimal


@dataclass(frozen=True)
class IssueInput:
    issue_date: date
    cost_centre: str
    lines: list[IssueLineInput]
    notes: str | None = None


@dataclass
class IssueDetails:
    issue: StockIssue
    location: Location
    period: Period | None
    lines: list[StockIssueLine]
    items: dict[int, Material]
    users: dict[int, User]


@dataclass(frozen=True)
class IssueFilters:
    cost_centre: str | None = None
    start_date: date | None = None
    end_date: date | None = None


def create_issue(session: Session, user: Principal, location_uid: str, data: IssueInput) -> IssueDetails:
    location = accessible_location(session, user, location_uid)
    items = documents.items_by_uid(session, [line.item_uid for line in data.lines])
    ensure_postable(location, items)
    period = period_for_posting(session, data.issue_date)
    issue = StockIssue(issue_no=provisional("ISS"), location_id=location.id, period_id=period.id,
                       issue_date=data.issue_date, cost_centre=data.cost_centre, notes=data.notes,
                       created_by_id=user.id)
    session.add(issue)
    session.flush()
    moved = ledger.apply(session, [_issue_movement(issue, n, item, line.quantity, user.id)
                                   for n, (line, item) in enumerate(zip(data.lines, items, strict=True), 1)])
    lines = [StockIssueLine(issue_id=issue.id, line_number=n, item_id=row.item_id, quantity=-row.quantity,
                            wac=row.unit_cost, value=-row.value) for n, row in enumerate(moved, 1)]
    session.add_all(lines)
    issue.total_value = sum((line.value for line in lines), Decimal(0))
    session.flush()  # everything else first: the sequence row is locked from here to the commit
    issue.issue_no = yearly_number(session, "ISS")
    documents.record(session, actor_id=user.id, location=location, entity_type="issue", entity_id=issue.id,
                     action="ISSUE_POSTED", changes=audit.created({
                               "issue_no": issue.issue_no, "issue_date": issue.issue_date,
                               "cost_centre": issue.cost_centre, "total_value": issue.total_value,
                               "lines": [{"item": items[n].code, "quantity": line.quantity, "wac": line.wac,
                                          "value": line.value} for n, line in enumerate(lines)]}))
    return IssueDetails(issue, location, period, lines, {item.id: item for item in items}, {})


def _issue_movement(issue: StockIssue, line_number: int, item: Material, quantity: Decimal,
                    actor_id: int) -> ledger.Movement:
    return ledger.Movement(
        location_id=issue.location_id, item_id=item.id, movement_type="ISSUE", quantity=quantity,
        movement_date=issue.issue_date, source_key=f"issue:{issue.id}:line:{line_number}",
        period_id=issue.period_id, source_type="issue", source_id=issue.id, actor_id=actor_id)


def get_issue(session: Session, user: Principal, issue_uid: str) -> IssueDetails:
    issue = session.scalars(select(StockIssue).where(
        StockIssue.uid == documents.parse_uid(issue_uid, "Issue"))).first()
    if issue is None:
        raise not_found("Issue", issue_uid)
    ensure_location_access(session, user, issue.location_id)
    lines = list(session.scalars(select(StockIssueLine).where(StockIssueLine.issue_id == issue.id)
                                 .order_by(StockIssueLine.line_number)))
    location = session.get(Location, issue.location_id)
    assert location is not None
    return IssueDetails(issue, location, session.get(Period, issue.period_id), lines,
                        documents.by_id(session, Material, [line.item_id for line in lines]),
                        documents.users_by_id(session, [issue.created_by_id]))


def list_issues(session: Session, user: Principal, location_uid: str, filters: IssueFilters, offset: int,
                limit: int) -> tuple[Location, list[StockIssue], int]:
    location = accessible_location(session, user, location_uid)
    query = (select(StockIssue).where(StockIssue.location_id == location.id, *_conditions(filters))
             .order_by(StockIssue.issue_date.desc(), StockIssue.id.desc()))
    rows, total = documents.page_of(session, query, offset, limit)
    return location, rows, total


def _conditions(filters: IssueFilters) -> list[ColumnElement[bool]]:
    conditions = documents.within_dates(StockIssue.issue_date, filters.start_date, filters.end_date)
    if filters.cost_centre is not None:
        conditions.append(StockIssue.cost_centre == filters.cost_centre)
    return conditions
