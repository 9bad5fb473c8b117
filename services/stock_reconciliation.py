"""Period reconciliation per location (stock contract §13), computed from the ledger:

    opening      value of the stock before the period (the previous period's closing snapshot when it
                 was rolled forward from one, else the ledger before the start) plus OPENING movements in it
    receipts, transfers_in, transfers_out, issues   the period's movements by type (values, positive)
    closing      the closing snapshot of a CLOSED period, else the ledger's value at the period's end
    back_charges, credits, condemnations, adjustments   entered by a SUPERVISOR/ADMIN (POST); `credits`
                 also counts the value credited on the location's NCRs in the period (`ncr_credits`)
    consumption  = opening + receipts + transfers_in − transfers_out − closing + adjustments
                   − back_charges + credits            (the contract's example: 35,000 − 1,000 + 500 = 34,500)
    total_adjustments = back_charges + condemnations − credits − adjustments  (the example's 700)
    manday_cost  = consumption / total_mandays, 2 dp; null without mandays
Never commits."""

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import AppError
from core.timeutil import UTC
from models.procurement import NonConformance
from models.stock import Location, Period, PeriodClosingStock, PobEntry, Reconciliation, StockMovement
from services.stock_ledger import money

ZERO = Decimal(0)
MANUAL = ("back_charges", "credits", "condemnations", "adjustments")


def _movement_value(session: Session, location_id: int, *conditions: Any) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(StockMovement.value), 0))
                           .where(StockMovement.location_id == location_id, *conditions))
    return Decimal(total or 0)


def _snapshot_value(session: Session, period_id: int, location_id: int) -> Decimal | None:
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(PeriodClosingStock.value), 0))
                                   .where(PeriodClosingStock.period_id == period_id,
                                          PeriodClosingStock.location_id == location_id)).one()
    return Decimal(total) if count else None


def _has_snapshot(session: Session, period_id: int | None) -> bool:
    return period_id is not None and (session.scalar(
        select(func.count()).select_from(PeriodClosingStock).where(PeriodClosingStock.period_id == period_id)) or 0) > 0


def figures(session: Session, period: Period, location: Location) -> dict[str, Any]:
    in_period = (StockMovement.movement_date >= period.start_date, StockMovement.movement_date <= period.end_date)
    if _has_snapshot(session, period.previous_period_id):
        opening = _snapshot_value(session, period.previous_period_id or 0, location.id) or ZERO
    else:
        opening = _movement_value(session, location.id, StockMovement.movement_date < period.start_date)
    opening += _movement_value(session, location.id, *in_period, StockMovement.movement_type == "OPENING")

    def of(kind: str) -> Decimal:
        return abs(_movement_value(session, location.id, *in_period, StockMovement.movement_type == kind))

    closing = _snapshot_value(session, period.id, location.id) if period.status == "CLOSED" else None
    if closing is None:
        closing = opening + _movement_value(session, location.id, *in_period, StockMovement.movement_type != "OPENING")
    return {"opening_stock": opening, "receipts": of("RECEIPT"), "transfers_in": of("TRANSFER_IN"),
            "transfers_out": of("TRANSFER_OUT"), "issues": of("ISSUE"), "closing_stock": closing,
            "ledger_adjustments": _movement_value(session, location.id, *in_period,
                                                  StockMovement.movement_type == "ADJUSTMENT")}


def ncr_credits(session: Session, period: Period, location_id: int) -> Decimal:
    start, end = datetime.combine(period.start_date, time.min, UTC), datetime.combine(period.end_date, time.max, UTC)
    total = session.scalar(select(func.coalesce(func.sum(NonConformance.credited_value), 0)).where(
        NonConformance.location_id == location_id, NonConformance.credited_at >= start,
        NonConformance.credited_at <= end))
    return Decimal(total or 0)


def mandays(session: Session, period: Period, location_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PobEntry.crew_count + PobEntry.extra_count), 0)).where(
        PobEntry.location_id == location_id, PobEntry.entry_date >= period.start_date,
        PobEntry.entry_date <= period.end_date)) or 0)


def reconcile(session: Session, period: Period, location: Location) -> dict[str, Any]:
    saved = _saved(session, period.id, location.id)
    base = figures(session, period, location)
    manual = {name: getattr(saved, name) if saved else ZERO for name in MANUAL}
    from_ncrs = ncr_credits(session, period, location.id)
    credits = manual["credits"] + from_ncrs
    consumption = (base["opening_stock"] + base["receipts"] + base["transfers_in"] - base["transfers_out"]
                   - base["closing_stock"] + manual["adjustments"] - manual["back_charges"] + credits)
    days = mandays(session, period, location.id)
    values = {**{k: v for k, v in base.items() if k != "ledger_adjustments"}, "back_charges": manual["back_charges"],
              "credits": credits, "ncr_credits": from_ncrs, "condemnations": manual["condemnations"],
              "adjustments": manual["adjustments"], "consumption": consumption}
    return {"location": {"id": str(location.uid), "code": location.code, "name": location.name},
            **{k: money(v) for k, v in values.items()},
            "total_adjustments": money(manual["back_charges"] + manual["condemnations"] - credits
                                       - manual["adjustments"]),
            "total_mandays": days, "manday_cost": money(consumption / days) if days else None,
            "is_confirmed": bool(saved and saved.is_confirmed)}


def grand_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("opening_stock", "receipts", "transfers_in", "transfers_out", "issues", "closing_stock", "back_charges",
            "credits", "ncr_credits", "condemnations", "adjustments", "consumption", "total_adjustments")
    totals: dict[str, Any] = {k: money(sum((r[k] for r in rows), ZERO)) for k in keys}
    days = sum(r["total_mandays"] for r in rows)
    totals["total_mandays"] = days
    totals["manday_cost"] = money(totals["consumption"] / days) if days else None
    return totals


def _saved(session: Session, period_id: int, location_id: int, lock: bool = False) -> Reconciliation | None:
    query = select(Reconciliation).where(Reconciliation.period_id == period_id,
                                         Reconciliation.location_id == location_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def save(session: Session, actor_id: int, period: Period, location: Location, values: dict[str, Any]) -> Reconciliation:
    """Upsert the manual figures; a CLOSED period's reconciliation is final."""
    if period.status == "CLOSED":
        raise AppError("PERIOD_CLOSED", 400, f"Period {period.name} is closed; its reconciliation is final",
                       {"period": period.name, "status": period.status})
    row = _saved(session, period.id, location.id, lock=True)
    before = {name: getattr(row, name) for name in (*MANUAL, "is_confirmed")} if row else {}
    if row is None:
        row = Reconciliation(period_id=period.id, location_id=location.id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, money(value) if isinstance(value, Decimal) else value)
    row.saved_by_id = actor_id
    session.flush()
    after = {name: getattr(row, name) for name in (*MANUAL, "is_confirmed")}
    audit.record(session, actor_id=actor_id, entity_type="reconciliation", entity_id=row.id,
                 action_type="RECONCILIATION_SAVED",
                 payload_diff={**audit.diff(before, after), "location_id": {"old": None, "new": location.id}})
    return row
