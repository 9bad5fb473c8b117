"""Dashboards of the stock contract: one location's (§1 "Get Location Dashboard") and the consolidated one
(§2). Figures are over a period, the current one (services/stock_periods.current_period) unless the caller
names another:

    total_receipts   value of the POSTED deliveries of the period at the location (drafts move no stock)
    total_issues     value of the period's issues at the location
    total_mandays    people on board summed over the period's days (crew + extra)
    days_left        days from today to the period's end: today clamped into the period, so a past period
                     has 0 and a future one its length minus one (as on its first day)
    stock_value      the location's current stock value (on hand × WAC, rounded to cents per row)
    is_ready         the location is READY for the period's close
    pending_approvals  open approval requests (pending or in review) of transfers and period closes

Every figure comes from grouped aggregate queries (one per kind, whatever the number of locations).
Values are Decimals; the API renders them. Never commits."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError
from models.approvals import ApprovalInstance
from models.stock import Delivery, Location, Period, PeriodLocation, PobEntry, StockIssue
from services.identity import Principal
from services.stock.access import accessible_location
from services.stock.consolidated import stock_value_by_location
from services.stock.periods import close as stock_period_close
from services.stock.periods import periods as stock_periods
from services.stock.periods.readiness import READY, readiness_counts

ZERO = Decimal(0)
RECENT = 5
APPROVAL_TYPES = ("transfer", "period_close")
OPEN_APPROVALS = ("pending", "in_review")


def period_of(session: Session, period_uid: str | None, today: date) -> Period | None:
    """The named period (404 when unknown), else the current one, else None."""
    if period_uid:
        return stock_period_close.period_by_uid(session, period_uid)
    try:
        return stock_periods.current_period(session, today)
    except AppError as err:
        if err.status == 404:
            return None
        raise


def days_left(period: Period, today: date) -> int:
    clamped = min(max(today, period.start_date), period.end_date)
    return (period.end_date - clamped).days


def period_ref(period: Period | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {"id": str(period.uid), "name": period.name, "start_date": period.start_date.isoformat(),
            "end_date": period.end_date.isoformat(), "status": period.status}


def _sums(session: Session, query: Any) -> dict[int, Decimal]:
    return {location_id: Decimal(value) for location_id, value in session.execute(query).all()}


def receipts_by_location(session: Session, period: Period, location_ids: list[int]) -> dict[int, Decimal]:
    return _sums(session, select(Delivery.location_id, func.coalesce(func.sum(Delivery.total_amount), 0))
                 .where(Delivery.period_id == period.id, Delivery.status == "POSTED",
                        Delivery.location_id.in_(location_ids)).group_by(Delivery.location_id))


def issues_by_location(session: Session, period: Period, location_ids: list[int]) -> dict[int, Decimal]:
    return _sums(session, select(StockIssue.location_id, func.coalesce(func.sum(StockIssue.total_value), 0))
                 .where(StockIssue.period_id == period.id, StockIssue.location_id.in_(location_ids))
                 .group_by(StockIssue.location_id))


def mandays(session: Session, period: Period, location_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PobEntry.crew_count + PobEntry.extra_count), 0))
                              .where(PobEntry.location_id == location_id, PobEntry.entry_date >= period.start_date,
                                     PobEntry.entry_date <= period.end_date)) or 0)


def location_dashboard(session: Session, user: Principal, location_uid: str, period_uid: str | None,
                       today: date) -> dict[str, Any]:
    location = accessible_location(session, user, location_uid)
    period = period_of(session, period_uid, today)
    totals: dict[str, Any] = {"total_receipts": ZERO, "total_issues": ZERO, "total_mandays": 0, "days_left": 0}
    if period is not None:
        totals = {"total_receipts": receipts_by_location(session, period, [location.id]).get(location.id, ZERO),
                  "total_issues": issues_by_location(session, period, [location.id]).get(location.id, ZERO),
                  "total_mandays": mandays(session, period, location.id), "days_left": days_left(period, today)}
    return {"location": {"id": str(location.uid), "code": location.code, "name": location.name},
            "period": period_ref(period), "totals": totals,
            "recent_deliveries": recent_deliveries(session, location.id),
            "recent_issues": recent_issues(session, location.id)}


def recent_deliveries(session: Session, location_id: int) -> list[dict[str, Any]]:
    """The location's newest deliveries (any status, any period), newest first."""
    rows = session.scalars(select(Delivery).where(Delivery.location_id == location_id)
                           .order_by(Delivery.delivery_date.desc(), Delivery.id.desc()).limit(RECENT))
    return [{"id": str(d.uid), "delivery_no": d.delivery_no, "delivery_date": d.delivery_date.isoformat(),
             "total_amount": d.total_amount, "has_variance": d.has_variance, "status": d.status} for d in rows]


def recent_issues(session: Session, location_id: int) -> list[dict[str, Any]]:
    """The location's newest issues, newest first (an issue is posted when written)."""
    rows = session.scalars(select(StockIssue).where(StockIssue.location_id == location_id)
                           .order_by(StockIssue.issue_date.desc(), StockIssue.id.desc()).limit(RECENT))
    return [{"id": str(i.uid), "issue_no": i.issue_no, "issue_date": i.issue_date.isoformat(),
             "cost_centre": i.cost_centre, "total_value": i.total_value, "status": "POSTED"} for i in rows]


def pending_approvals(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ApprovalInstance).where(
        ApprovalInstance.reference_type.in_(APPROVAL_TYPES), ApprovalInstance.status.in_(OPEN_APPROVALS))) or 0)


def consolidated_dashboard(session: Session, period_uid: str | None, today: date) -> dict[str, Any]:
    """Every active location (by code) with its period figures, current stock value and readiness."""
    period = period_of(session, period_uid, today)
    locations = list(session.scalars(select(Location).where(Location.is_active.is_(True))
                                     .order_by(Location.code, Location.id)))
    ids = [location.id for location in locations]
    receipts = receipts_by_location(session, period, ids) if period and ids else {}
    issues = issues_by_location(session, period, ids) if period and ids else {}
    ready = set(session.scalars(select(PeriodLocation.location_id).where(
        PeriodLocation.period_id == period.id, PeriodLocation.status == READY))) if period else set()
    values = stock_value_by_location(session, ids)
    rows = [{"id": str(loc.uid), "code": loc.code, "name": loc.name, "type": loc.type,
             "total_receipts": receipts.get(loc.id, ZERO), "total_issues": issues.get(loc.id, ZERO),
             "stock_value": values.get(loc.id, ZERO), "is_ready": loc.id in ready} for loc in locations]
    current = period_ref(period)
    if period is not None and current is not None:
        current["locations_ready"], current["locations_total"] = readiness_counts(session, period)
    return {"current_period": current, "locations": rows,
            "totals": {"total_receipts": sum(receipts.values(), ZERO), "total_issues": sum(issues.values(), ZERO),
                       "total_stock_value": sum(values.values(), ZERO)},
            "pending_approvals": pending_approvals(session)}
