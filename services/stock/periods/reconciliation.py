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

from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.timeutil import UTC
from models.quality import NonConformance
from models.stock import Location, Period, PeriodClosingStock, PobEntry, Reconciliation, StockMovement
from services import audit
from services.stock.ledger import money

ZERO = Decimal(0)
MANUAL = ("back_charges", "credits", "condemnations", "adjustments")


def reconcile(session: Session, period: Period, location: Location) -> dict[str, Any]:
    return reconcile_many(session, period, [location])[0]


def reconcile_many(session: Session, period: Period, locations: Sequence[Location]) -> list[dict[str, Any]]:
    """The reconciliation row of each location, in their order, from a fixed number of grouped queries
    (seven at most, however many locations)."""
    if not locations:
        return []
    ids = sorted({location.id for location in locations})
    opening_from_snapshot = _has_snapshot(session, period.previous_period_id)
    moved = _in_period_by_type(session, period, ids)
    before = {} if opening_from_snapshot else _before_period(session, period, ids)
    snapshots = _snapshot_values(session, ids, [period.previous_period_id] if opening_from_snapshot else [],
                                 closed_id=period.id if period.status == "CLOSED" else None)
    saved = {row.location_id: row for row in session.scalars(select(Reconciliation).where(
        Reconciliation.period_id == period.id, Reconciliation.location_id.in_(ids)))}
    from_ncrs, days = _ncr_credits(session, period, ids), _mandays(session, period, ids)
    rows = []
    for location in locations:
        of = moved.get(location.id, {})
        if opening_from_snapshot:
            opening = snapshots.get((period.previous_period_id or 0, location.id), ZERO)
        else:
            opening = before.get(location.id, ZERO)
        opening += of.get("OPENING", ZERO)
        closing = snapshots.get((period.id, location.id)) if period.status == "CLOSED" else None
        if closing is None:
            closing = opening + sum((value for kind, value in of.items() if kind != "OPENING"), ZERO)
        base = {"opening_stock": opening, "receipts": abs(of.get("RECEIPT", ZERO)),
                "transfers_in": abs(of.get("TRANSFER_IN", ZERO)), "transfers_out": abs(of.get("TRANSFER_OUT", ZERO)),
                "issues": abs(of.get("ISSUE", ZERO)), "closing_stock": closing}
        rows.append(_row(location, base, saved.get(location.id), from_ncrs.get(location.id, ZERO),
                         days.get(location.id, 0)))
    return rows


def _row(location: Location, base: dict[str, Decimal], saved: Reconciliation | None, from_ncrs: Decimal,
         days: int) -> dict[str, Any]:
    manual = {name: getattr(saved, name) if saved else ZERO for name in MANUAL}
    credits = manual["credits"] + from_ncrs
    consumption = (base["opening_stock"] + base["receipts"] + base["transfers_in"] - base["transfers_out"]
                   - base["closing_stock"] + manual["adjustments"] - manual["back_charges"] + credits)
    values = {**base, "back_charges": manual["back_charges"], "credits": credits, "ncr_credits": from_ncrs,
              "condemnations": manual["condemnations"], "adjustments": manual["adjustments"],
              "consumption": consumption}
    return {"location": {"id": str(location.uid), "code": location.code, "name": location.name},
            **{k: money(v) for k, v in values.items()},
            "total_adjustments": money(manual["back_charges"] + manual["condemnations"] - credits
                                       - manual["adjustments"]),
            "total_mandays": days, "manday_cost": money(consumption / days) if days else None,
            "is_confirmed": bool(saved and saved.is_confirmed)}


def _has_snapshot(session: Session, period_id: int | None) -> bool:
    """Whether the period has a closing snapshot (of any location): then it is the next period's opening."""
    return period_id is not None and bool(session.scalar(
        select(exists().where(PeriodClosingStock.period_id == period_id))))


def _in_period_by_type(session: Session, period: Period, ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """The signed value of the period's movements per location and movement type."""
    found = session.execute(select(StockMovement.location_id, StockMovement.movement_type,
                                   func.sum(StockMovement.value))
                            .where(StockMovement.location_id.in_(ids),
                                   StockMovement.movement_date >= period.start_date,
                                   StockMovement.movement_date <= period.end_date)
                            .group_by(StockMovement.location_id, StockMovement.movement_type)).all()
    by_location: dict[int, dict[str, Decimal]] = {}
    for location_id, kind, value in found:
        by_location.setdefault(location_id, {})[kind] = Decimal(value)
    return by_location


def _before_period(session: Session, period: Period, ids: list[int]) -> dict[int, Decimal]:
    """The ledger's value per location before the period starts."""
    found = session.execute(select(StockMovement.location_id, func.sum(StockMovement.value))
                            .where(StockMovement.location_id.in_(ids), StockMovement.movement_date < period.start_date)
                            .group_by(StockMovement.location_id)).all()
    return {location_id: Decimal(value) for location_id, value in found}


def _snapshot_values(session: Session, ids: list[int], opening_ids: list[int | None],
                     closed_id: int | None) -> dict[tuple[int, int], Decimal]:
    """The snapshot's value per (period, location) of the locations that have snapshot rows, for the previous
    period (the opening) and the period itself once CLOSED (the closing)."""
    period_ids = [period_id for period_id in (*opening_ids, closed_id) if period_id is not None]
    if not period_ids:
        return {}
    found = session.execute(select(PeriodClosingStock.period_id, PeriodClosingStock.location_id,
                                   func.sum(PeriodClosingStock.value))
                            .where(PeriodClosingStock.period_id.in_(period_ids),
                                   PeriodClosingStock.location_id.in_(ids))
                            .group_by(PeriodClosingStock.period_id, PeriodClosingStock.location_id)).all()
    return {(period_id, location_id): Decimal(value) for period_id, location_id, value in found}


def _ncr_credits(session: Session, period: Period, ids: list[int]) -> dict[int, Decimal]:
    """The value credited on each location's NCRs during the period."""
    start, end = datetime.combine(period.start_date, time.min, UTC), datetime.combine(period.end_date, time.max, UTC)
    found = session.execute(select(NonConformance.location_id,
                                   func.coalesce(func.sum(NonConformance.credited_value), 0))
                            .where(NonConformance.location_id.in_(ids), NonConformance.credited_at >= start,
                                   NonConformance.credited_at <= end)
                            .group_by(NonConformance.location_id)).all()
    return {location_id: Decimal(value or 0) for location_id, value in found if location_id is not None}


def _mandays(session: Session, period: Period, ids: list[int]) -> dict[int, int]:
    """Each location's mandays (crew + extra) entered on POB in the period."""
    found = session.execute(select(PobEntry.location_id,
                                   func.coalesce(func.sum(PobEntry.crew_count + PobEntry.extra_count), 0))
                            .where(PobEntry.location_id.in_(ids), PobEntry.entry_date >= period.start_date,
                                   PobEntry.entry_date <= period.end_date)
                            .group_by(PobEntry.location_id)).all()
    return {location_id: int(value) for location_id, value in found}


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
