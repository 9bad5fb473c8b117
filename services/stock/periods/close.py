"""Closing a period: the request (every location READY, no pending close) opens a PERIOD_CLOSE approval
and blocks posting (PENDING_CLOSE); on approval the closing stock of every location and item is
snapshotted in chunks of whole locations, then the period is CLOSED; a rejection reopens it.
Roll-forward creates the next period, whose opening stock is this period's closing snapshot.
Called from the period-close lifecycle's activities and the API; never commits."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.errors import AppError
from core.settings import get_settings
from core.timeutil import iso_z, utcnow
from dto.approvals import ApprovalOutcome, ApprovalRequest, StepPlan
from dto.stock import PeriodCloseStatus, PeriodCloseView, RequestPeriodClose, SnapshotChunk, SnapshotProgress
from models.approvals import ApprovalInstance
from models.stock import Location, LocationStock, Period, PeriodClosingStock, PeriodLocation, PeriodPrice
from services import audit
from services.approvals import engine as approvals
from services.stock import records
from services.stock.periods import periods as stock_periods
from services.stock.periods import readiness

REFERENCE_TYPE = "period_close"


def approval_step() -> StepPlan:
    """One step decided by an ADMIN (not the one who asked, unless self-approval is allowed)."""
    return StepPlan(step_number=1, name="Period close approval", approver_role="admin",
                    sla_seconds=get_settings().approval_sla_seconds, escalation_role="admin")


def period_by_uid(session: Session, period_uid: str, lock: bool = False) -> Period:
    return records.by_uid(session, Period, period_uid, "Period", lock=lock)


def request_close(session: Session, request: RequestPeriodClose) -> PeriodCloseView:
    period = period_by_uid(session, request.period_uid, lock=True)
    if period.status == "PENDING_CLOSE":
        if period.close_approval_id is not None and _pending_approval(session, period) is not None:
            return view(session, period)  # a retried request
        raise AppError("DUPLICATE_ENTRY", 409, f"Period {period.name} already has a pending close",
                       {"status": period.status})
    if period.status != "OPEN":
        raise AppError("INVALID_STATUS", 400, f"Period {period.name} is {period.status}; only an OPEN period can "
                       "be closed", {"status": period.status})
    not_ready = locations_not_ready(session, period)
    if not_ready:
        codes = ", ".join(loc["code"] for loc in not_ready)
        raise AppError("INVALID_STATUS", 400, f"Locations not ready for close: {codes}",
                       {"locations_not_ready": not_ready})
    instance = approvals.create_instance(
        session, template_id=None, reference_type=REFERENCE_TYPE, reference_id=period.id,
        reference_number=f"Close {period.name}", amount=Decimal(0), currency="SAR", requester_id=request.actor.id,
        steps=[approval_step()], priority="normal", extra_data={"period": period.name}, notes=request.closing_notes)
    _set_status(session, period, "PENDING_CLOSE", request.actor.id)
    period.closing_notes, period.close_approval_id = request.closing_notes, instance.id
    period.close_locations_done, period.close_locations_total = 0, _location_count(session)
    session.flush()
    return view(session, period)


def locations_not_ready(session: Session, period: Period) -> list[dict[str, Any]]:
    """Active locations whose period-location row is missing or not READY."""
    ready = select(PeriodLocation.location_id).where(PeriodLocation.period_id == period.id,
                                                     PeriodLocation.status == "READY")
    rows = session.scalars(select(Location).where(Location.is_active.is_(True), Location.id.not_in(ready))
                           .order_by(Location.code))
    return [{"id": str(loc.uid), "code": loc.code, "name": loc.name} for loc in rows]


def _pending_approval(session: Session, period: Period) -> ApprovalRequest | None:
    instance = session.get(ApprovalInstance, period.close_approval_id) if period.close_approval_id else None
    if period.status != "PENDING_CLOSE" or instance is None or instance.completed_at is not None:
        return None
    return ApprovalRequest(instance_id=instance.id, reference_type=REFERENCE_TYPE, reference_id=period.id,
                           amount=Decimal(0), requester_id=instance.requested_by, steps=[approval_step()],
                           allow_self_approval=get_settings().allow_self_approval)


def apply_rejection(session: Session, period_uid: str, outcome: ApprovalOutcome) -> PeriodCloseView:
    period = period_by_uid(session, period_uid, lock=True)
    if period.status == "PENDING_CLOSE":
        _set_status(session, period, "OPEN", outcome.decided_by)
    return view(session, period)


def snapshot_chunk(session: Session, chunk: SnapshotChunk) -> SnapshotProgress:
    """Snapshot the closing stock of the next whole locations (about `limit` stock rows); a retry of the
    same chunk inserts nothing twice. Closing stock = opening snapshot + the period's movements."""
    period = period_by_uid(session, chunk.period_uid)
    location_ids = _next_locations(session, chunk.after_location_id, chunk.limit)
    total = _location_count(session)
    if not location_ids:
        return SnapshotProgress(last_location_id=None, locations_done=total, locations_total=total)
    session.execute(SNAPSHOT, {"period_id": period.id, "previous_id": period.previous_period_id,
                               "start": period.start_date, "end": period.end_date, "locations": location_ids})
    done = session.scalar(select(func.count()).select_from(Location).where(Location.id <= location_ids[-1])) or 0
    period.close_locations_done, period.close_locations_total = done, total
    return SnapshotProgress(last_location_id=location_ids[-1], locations_done=done, locations_total=total)


# Opening = the previous period's closing snapshot (when there is one; else all movements before the
# period); plus the movements dated in the period. WAC = value / on_hand (0 when nothing is left).
SNAPSHOT = text("""
    INSERT INTO period_closing_stock (uid, period_id, location_id, item_id, on_hand, wac, value)
    SELECT gen_random_uuid(), :period_id, s.location_id, s.item_id, t.on_hand,
           CASE WHEN t.on_hand > 0 THEN round(t.value / t.on_hand, 4) ELSE 0 END, round(t.value, 2)
    FROM location_stock s
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(q), 0) AS on_hand, coalesce(sum(v), 0) AS value FROM (
            SELECT o.on_hand AS q, o.value AS v FROM period_closing_stock o
             WHERE o.period_id = :previous_id AND o.location_id = s.location_id AND o.item_id = s.item_id
            UNION ALL
            SELECT m.quantity, m.value FROM stock_movements m
             WHERE m.location_id = s.location_id AND m.item_id = s.item_id AND m.movement_date <= :end
               AND (m.movement_date >= :start OR NOT EXISTS (
                    SELECT 1 FROM period_closing_stock p WHERE p.period_id = :previous_id))
        ) parts
    ) t
    WHERE s.location_id = ANY(:locations)
    ON CONFLICT (period_id, location_id, item_id) DO NOTHING
""")


def _next_locations(session: Session, after: int, limit: int) -> list[int]:
    """The next locations after `after` whose stock rows add up to about `limit` (at least one location)."""
    rows = session.execute(select(Location.id, func.count(LocationStock.id))
                           .outerjoin(LocationStock, LocationStock.location_id == Location.id)
                           .where(Location.id > after).group_by(Location.id).order_by(Location.id)
                           .limit(max(limit, 1))).all()
    chosen: list[int] = []
    count = 0
    for location_id, rows_here in rows:
        if chosen and count + rows_here > limit:
            break
        chosen.append(location_id)
        count += rows_here
    return chosen


def _location_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Location)) or 0


def finish_close(session: Session, period_uid: str, actor_id: int | None) -> PeriodCloseView:
    period = period_by_uid(session, period_uid, lock=True)
    if period.status == "PENDING_CLOSE":
        _set_status(session, period, "CLOSED", actor_id)
        period.closed_at, period.closed_by_id = utcnow(), actor_id
        period.close_locations_done = period.close_locations_total
    return view(session, period)


def _set_status(session: Session, period: Period, status: str, actor_id: int | None) -> None:
    before, period.status = period.status, status
    period.version += 1
    audit.record(session, actor_id=actor_id, entity_type="period", entity_id=period.id,
                 action_type=f"PERIOD_{status}", payload_diff={"status": {"old": before, "new": status}})
    session.flush()


def view(session: Session, period: Period) -> PeriodCloseView:
    return PeriodCloseView(id=period.id, status=PeriodCloseStatus(period.status) if period.status in
                           PeriodCloseStatus.__members__ else PeriodCloseStatus.OPEN,
                           approval=_pending_approval(session, period),
                           chunk_size=get_settings().period_close_chunk_size, body=render(session, period))


def period_body(session: Session, period_uid: str) -> dict[str, Any]:
    return render(session, period_by_uid(session, period_uid))


def render(session: Session, period: Period) -> dict[str, Any]:
    ready = session.scalar(select(func.count()).select_from(PeriodLocation).where(
        PeriodLocation.period_id == period.id, PeriodLocation.status == "READY")) or 0
    approval = session.get(ApprovalInstance, period.close_approval_id) if period.close_approval_id else None
    return {"id": str(period.uid), "name": period.name, "status": period.status,
            "start_date": period.start_date.isoformat(), "end_date": period.end_date.isoformat(),
            "locations_ready": ready, "locations_total": _active_locations(session),
            "closing_notes": period.closing_notes, "close_approval_id": str(approval.uid) if approval else None,
            "close_locations_done": period.close_locations_done,
            "close_locations_total": period.close_locations_total, "closed_at": iso_z(period.closed_at)}


def _active_locations(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Location).where(Location.is_active.is_(True))) or 0


def roll_forward(session: Session, period_uid: str, actor_id: int, copy_prices: bool) -> dict[str, Any]:
    """The next period, OPEN, its opening stock this period's closing snapshot; twice is a 409."""
    period = period_by_uid(session, period_uid, lock=True)
    if period.status != "CLOSED":
        raise AppError("INVALID_STATUS", 400, f"Period {period.name} is {period.status}; only a CLOSED period can "
                       "be rolled forward", {"status": period.status})
    if session.scalar(select(Period.id).where(Period.previous_period_id == period.id)) is not None:
        raise AppError("DUPLICATE_ENTRY", 409, f"Period {period.name} was already rolled forward")
    start, end = next_dates(period.start_date, period.end_date)
    successor = _drafted_successor(session, start, end)
    if successor is None:
        successor = Period(name=_free_name(session, f"{start:%b %Y}"), start_date=start, end_date=end, status="OPEN",
                           created_by_id=actor_id)
        session.add(successor)
    successor.status, successor.opened_at, successor.previous_period_id = "OPEN", utcnow(), period.id
    session.flush()
    readiness.add_active_locations(session, successor.id)
    if copy_prices:
        _copy_missing_prices(session, period.id, successor.id)
    audit.record(session, actor_id=actor_id, entity_type="period", entity_id=successor.id,
                 action_type="PERIOD_ROLLED_FORWARD", payload_diff=audit.created(
                     {"name": successor.name, "previous_period_id": period.id, "copy_prices": copy_prices}))
    session.flush()
    return {"period": render(session, successor), "previous_period": render(session, period),
            "opening_stock": opening_totals(session, period.id)}


def _drafted_successor(session: Session, start: date, end: date) -> Period | None:
    """A DRAFT period prepared on exactly the next dates is the one rolled into; any other period on those dates
    is a 409, for periods never overlap (under the lock every period date change takes)."""
    session.execute(select(func.pg_advisory_xact_lock(stock_periods.PERIOD_DATES_LOCK)))
    other = session.scalars(select(Period).where(Period.start_date <= end, Period.end_date >= start)
                            .order_by(Period.start_date).limit(1).with_for_update()).first()
    if other is None:
        return None
    if other.status == "DRAFT" and (other.start_date, other.end_date) == (start, end):
        return other
    raise AppError("DUPLICATE_ENTRY", 409, f"The next period ({start.isoformat()} to {end.isoformat()}) would "
                   f"overlap period {other.name} ({other.status})",
                   {"period": other.name, "status": other.status, "start_date": other.start_date.isoformat(),
                    "end_date": other.end_date.isoformat()})


def _copy_missing_prices(session: Session, from_period_id: int, to_period_id: int) -> None:
    """The closed period's prices, except for items the next period already prices."""
    priced = select(PeriodPrice.item_id).where(PeriodPrice.period_id == to_period_id)
    for price in session.scalars(select(PeriodPrice).where(PeriodPrice.period_id == from_period_id,
                                                           PeriodPrice.item_id.not_in(priced))):
        session.add(PeriodPrice(period_id=to_period_id, item_id=price.item_id, price=price.price))


def next_dates(start: date, end: date) -> tuple[date, date]:
    """A calendar month is followed by the next calendar month; another span by one of the same length."""
    following = end + timedelta(days=1)
    if start.day == 1 and following.day == 1:
        return following, (following + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return following, following + (end - start)


def _free_name(session: Session, name: str) -> str:
    candidate, n = name, 1
    while session.scalar(select(Period.id).where(Period.name == candidate)) is not None:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def opening_totals(session: Session, closed_period_id: int) -> dict[str, Any]:
    row = session.execute(select(func.count(func.distinct(PeriodClosingStock.location_id)),
                                 func.count(), func.coalesce(func.sum(PeriodClosingStock.value), 0))
                          .where(PeriodClosingStock.period_id == closed_period_id)).one()
    return {"locations": row[0], "stock_rows": row[1], "total_value": float(row[2])}
