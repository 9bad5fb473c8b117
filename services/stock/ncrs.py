"""The stock contract's NCRs (one `non_conformances` table, kinds `manual` and `price_variance`): raised
at a location, claimed from the supplier OPEN → SENT → CREDITED → CLOSED, or closed at once (OPEN → CLOSED)
when the claim is dropped. The status is written only through the NCR's lifecycle (`ncr-{uid}`).
A manual NCR is inserted under a provisional number and takes its NCR number (the shared `NCR` sequence
row, locked to the commit) as its last write, then its audit row. Never commits."""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import provisional, yearly_number
from core.timeutil import UTC, iso_z, utcnow
from dto.stock import NCR_NEXT, NcrStatus, NcrTransition, NcrView
from models.catalog import Material, Supplier
from models.identity import User
from models.quality import NonConformance
from models.stock import Delivery, Location, NcrLine
from services import audit, notifications
from services.identity import Principal
from services.stock import access, ledger
from services.stock import records as stock_records
from services.stock.records import as_uuid
from services.stock.views import item_ref, location_ref

STOCK_KINDS = {"manual": "MANUAL", "price_variance": "PRICE_VARIANCE"}
STAMPS = {NcrStatus.SENT: "sent_at", NcrStatus.CREDITED: "credited_at", NcrStatus.CLOSED: "closed_at"}


def allowed(current: NcrStatus, target: NcrStatus) -> bool:
    return target in NCR_NEXT[current]


def create_manual(session: Session, user: Principal, *, location_uid: str, delivery_uid: str | None, reason: str,
                  lines: list[dict[str, Any]]) -> NonConformance:
    location = access.accessible_location(session, user, location_uid)
    delivery = _delivery(session, delivery_uid, location) if delivery_uid else None
    ncr = NonConformance(ncr_number=provisional("NCR"), kind="manual", status=NcrStatus.OPEN.value,
                         title=reason[:255], description=reason, location_id=location.id,
                         delivery_id=delivery.id if delivery else None,
                         supplier_id=delivery.supplier_id if delivery else None, created_by_id=user.id,
                         source_type="delivery" if delivery else None, source_id=delivery.id if delivery else None)
    session.add(ncr)
    session.flush()
    total = Decimal(0)
    for index, line in enumerate(lines):
        item = _item(session, line["item_id"], index)
        value = ledger.money(Decimal(str(line["value"])))
        session.add(NcrLine(ncr_id=ncr.id, item_id=item.id, quantity=Decimal(str(line["quantity"])), value=value))
        total += value
    ncr.total_value = total
    session.flush()  # everything else first: the sequence row is locked from here to the commit
    ncr.ncr_number = yearly_number(session, "NCR")
    audit.record(session, actor_id=user.id, entity_type="ncr", entity_id=ncr.id, action_type="NCR_RAISED",
                 payload_diff=audit.created({"ncr_number": ncr.ncr_number, "kind": "manual", "location_id": location.id,
                                             "total_value": total, "reason": reason}))
    session.flush()
    return ncr


def transition(session: Session, ncr_uid: str, change: NcrTransition) -> NcrView:
    """Apply a status change the lifecycle has validated; the same change applied again is a no-op."""
    ncr = by_uid(session, ncr_uid, lock=True)
    current = NcrStatus(ncr.status)
    if current == change.status:
        return view(session, ncr)
    if not allowed(current, change.status):
        raise invalid_transition(ncr.ncr_number, current, change.status)
    ncr.status = change.status.value
    setattr(ncr, STAMPS[change.status], utcnow())
    if change.resolution is not None:
        ncr.resolution = change.resolution
    if change.status == NcrStatus.CREDITED:
        ncr.credited_value = ledger.money(change.credited_value) if change.credited_value is not None \
            else ncr.total_value
    ncr.version += 1
    audit.record(session, actor_id=change.actor.id, entity_type="ncr", entity_id=ncr.id,
                 action_type=f"NCR_{change.status.value}", payload_diff={
                     "status": {"old": current.value, "new": change.status.value},
                     "location_id": {"old": None, "new": ncr.location_id},
                     "resolution": {"old": None, "new": change.resolution}})
    session.flush()
    return view(session, ncr)


def invalid_transition(number: str, current: NcrStatus, target: NcrStatus) -> AppError:
    allowed_next = [s.value for s in NCR_NEXT[current]]
    return AppError("INVALID_STATUS", 400, f"NCR {number} is {current.value}; it cannot become {target.value}",
                    {"status": current.value, "requested": target.value, "allowed": allowed_next})


def follow_up(session: Session, ncr_uid: str, round_number: int) -> None:
    """An NCR left SENT too long: its raiser and the supervisors hear of it (once per round)."""
    ncr = by_uid(session, ncr_uid)
    if ncr.status != NcrStatus.SENT:
        return
    raiser = session.get(User, ncr.created_by_id) if ncr.created_by_id else None
    recipients = [u for u in [raiser, *notifications.users_with_role(session, "supervisor")] if u is not None]
    supplier = session.get(Supplier, ncr.supplier_id) if ncr.supplier_id else None
    notifications.enqueue(session, key=f"ncr-follow-up:{ncr.id}:{round_number}", kind="ncr_follow_up",
                          recipients=list({u.id: u for u in recipients}.values()), reference_type="ncr",
                          reference_id=ncr.id, ncr_no=ncr.ncr_number, sent_at=iso_z(ncr.sent_at),
                          supplier=supplier.name if supplier else "the supplier",
                          value=f"{ncr.total_value or 0:,.2f}")


def by_uid(session: Session, ncr_uid: str, lock: bool = False) -> NonConformance:
    query = select(NonConformance).where(NonConformance.uid == as_uuid(ncr_uid, "NCR"),
                                         NonConformance.kind.in_(STOCK_KINDS))
    ncr = session.scalars(query.with_for_update() if lock else query).first()
    if ncr is None:
        raise not_found("NCR", ncr_uid)
    return ncr


def view_of(session: Session, ncr_uid: str) -> NcrView:
    return view(session, by_uid(session, ncr_uid))


def view(session: Session, ncr: NonConformance) -> NcrView:
    return NcrView(id=ncr.id, status=NcrStatus(ncr.status), body=render(session, ncr))


def get(session: Session, user: Principal, ncr_uid: str) -> dict[str, Any]:
    ncr = by_uid(session, ncr_uid)
    if ncr.location_id is not None:
        access.ensure_location_access(session, user, ncr.location_id)
    return render(session, ncr)


def list_ncrs(session: Session, user: Principal, *, location_uid: str | None, kind: str | None, status: str | None,
              start: date | None, end: date | None, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    query = select(NonConformance).where(NonConformance.kind.in_(STOCK_KINDS),
                                         access.location_filter(session, user, NonConformance.location_id))
    if location_uid:
        query = query.where(NonConformance.location_id == access.accessible_location(
            session, user, location_uid).id)
    if kind:
        query = query.where(NonConformance.kind == kind.lower())
    if status:
        query = query.where(NonConformance.status == status)
    if start:
        query = query.where(NonConformance.created_at >= datetime.combine(start, time.min, UTC))
    if end:
        query = query.where(NonConformance.created_at <= datetime.combine(end, time.max, UTC))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(NonConformance.created_at.desc(), NonConformance.id.desc())
                           .offset(offset).limit(limit))
    return [render(session, row) for row in rows], total


def render(session: Session, ncr: NonConformance) -> dict[str, Any]:
    location = session.get(Location, ncr.location_id) if ncr.location_id else None
    delivery = session.get(Delivery, ncr.delivery_id) if ncr.delivery_id else None
    supplier = session.get(Supplier, ncr.supplier_id) if ncr.supplier_id else None
    item = session.get(Material, ncr.material_id) if ncr.material_id else None
    creator = session.get(User, ncr.created_by_id) if ncr.created_by_id else None
    return {
        "id": str(ncr.uid), "ncr_no": ncr.ncr_number, "type": STOCK_KINDS.get(ncr.kind, ncr.kind.upper()),
        "status": ncr.status, "reason": ncr.description or ncr.title, "resolution": ncr.resolution,
        "location": location_ref(location) if location else None,
        "delivery": {"id": str(delivery.uid), "delivery_no": delivery.delivery_no} if delivery else None,
        "supplier": {"id": str(supplier.uid), "code": supplier.code, "name": supplier.name} if supplier else None,
        "item": item_ref(item) if item else None,
        "expected_price": _number(ncr.expected_price), "actual_price": _number(ncr.actual_price),
        "variance": _number(ncr.variance), "variance_percent": _number(ncr.variance_percent),
        "quantity": _number(ncr.quantity), "total_value": _number(ncr.total_value),
        "credited_value": _number(ncr.credited_value), "lines": _lines(session, ncr.id),
        "created_by": {"id": str(creator.uid), "username": creator.username} if creator else None,
        "created_at": iso_z(ncr.created_at), "sent_at": iso_z(ncr.sent_at), "credited_at": iso_z(ncr.credited_at),
        "closed_at": iso_z(ncr.closed_at),
    }


def _lines(session: Session, ncr_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(NcrLine, Material).join(Material, Material.id == NcrLine.item_id)
                           .where(NcrLine.ncr_id == ncr_id).order_by(NcrLine.id)).all()
    return [{"item": item_ref(item), "quantity": float(line.quantity),
             "value": float(line.value)} for line, item in rows]


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _delivery(session: Session, delivery_uid: str, location: Location) -> Delivery:
    delivery = stock_records.by_uid(session, Delivery, delivery_uid, "Delivery")
    if delivery.location_id != location.id:
        raise AppError("VALIDATION_ERROR", 400, "The delivery was received at another location",
                       [{"path": ["delivery_id"], "message": "Delivery is not at this location"}])
    return delivery


def _item(session: Session, item_uid: str, index: int) -> Material:
    item = session.scalars(select(Material).where(Material.uid == as_uuid(item_uid, "Item"))).first()
    if item is None:
        raise AppError("NOT_FOUND", 404, f"Item {item_uid} not found", {"path": ["lines", index, "item_id"]})
    return item
