"""Deliveries (stock contract §8): a DRAFT is an editable, deletable document with no stock effect; posting
needs an invoice number and an open period covering the delivery date, receives every line into the
location's stock at its unit price (WAC moves, one ledger row per line, idempotent by
`delivery:{id}:line:{n}`) and raises a PRICE_VARIANCE NCR for each line delivered at another price than the
period's. A posted delivery is immutable. Never commits.

Locks are taken in one order: the draft being edited, the period (share), the stock rows (location, item
order), and last the document sequences: the delivery's number, then its NCRs' numbers. A new delivery is
inserted under a provisional number and numbered as the last write before the commit (the audit rows that
show numbers are written after it), so a sequence row is held only for the commit and a posting that fails
consumes no number."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import provisional, yearly_number
from core.timeutil import utcnow
from models.catalog import Material, Supplier
from models.quality import NonConformance
from models.stock import Delivery, DeliveryLine, Location, Period
from services import audit
from services.identity import Principal
from services.stock import documents, variance
from services.stock import ledger as stock_ledger
from services.stock.access import accessible_location, ensure_location_access
from services.stock.posting import period_for_posting
from services.stock.records import ensure_postable

INVOICE_INDEX = "uq_deliveries_supplier_invoice"


@dataclass(frozen=True)
class DeliveryLineInput:
    item_uid: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class DeliveryInput:
    supplier_uid: str
    delivery_date: date
    lines: list[DeliveryLineInput]
    invoice_no: str | None = None
    delivery_note: str | None = None


@dataclass
class DeliveryResult:
    """A delivery after a change, with the NCRs that change raised."""

    delivery: Delivery
    location: Location
    raised: list[NonConformance] = field(default_factory=list)


def create_delivery(session: Session, user: Principal, location_uid: str, data: DeliveryInput,
                    post: bool) -> DeliveryResult:
    location = accessible_location(session, user, location_uid)
    supplier = documents.supplier_by_uid(session, data.supplier_uid)
    items = documents.items_by_uid(session, [line.item_uid for line in data.lines])
    ensure_postable(location, items, supplier)
    invoice_no = _clean(data.invoice_no)
    period = _posting_period(session, invoice_no, data.delivery_date) if post else None
    _ensure_invoice_free(session, supplier.id, invoice_no)
    delivery = Delivery(delivery_no=provisional("DEL"), location_id=location.id, supplier_id=supplier.id,
                        invoice_no=invoice_no, delivery_note=_clean(data.delivery_note),
                        delivery_date=data.delivery_date, status="DRAFT", created_by_id=user.id)
    session.add(delivery)
    _flush_invoice(session, invoice_no)
    lines = _write_lines(session, delivery, data.lines, items)
    created = _state(delivery)
    raised = _post(session, delivery, lines, location, period, user.id) if period is not None else None
    session.flush()  # everything else first: the sequence rows are locked from here to the commit
    delivery.delivery_no = created["delivery_no"] = yearly_number(session, "DEL")
    documents.record(session, actor_id=user.id, location=location, entity_type="delivery",
                     entity_id=delivery.id, action="DELIVERY_CREATED", changes=audit.created(created))
    result = DeliveryResult(delivery, location)
    if raised is not None:
        result.raised = _posted(session, delivery, raised, location, user.id)
    return result


def update_delivery(session: Session, user: Principal, delivery_uid: str, changes: dict[str, Any],
                    post: bool) -> DeliveryResult:
    """Edit a draft (`changes`: any of supplier_uid, invoice_no, delivery_note, delivery_date, lines — lines
    replace the draft's lines) and, with `post`, post it."""
    delivery, location = _draft_for_update(session, user, delivery_uid)
    before = _state(delivery)
    _apply_header(session, delivery, changes)
    _flush_invoice(session, delivery.invoice_no)
    period = _posting_period(session, delivery.invoice_no, delivery.delivery_date) if post else None
    lines = _replace_lines(session, delivery, changes["lines"]) if "lines" in changes else lines_of(session, delivery)
    items = documents.by_id(session, Material, [line.item_id for line in lines])
    ensure_postable(location, [items[line.item_id] for line in lines], session.get(Supplier, delivery.supplier_id))
    delivery.version += 1
    documents.record(session, actor_id=user.id, location=location, entity_type="delivery",
                     entity_id=delivery.id, action="DELIVERY_UPDATED",
                     changes=audit.diff(before, _state(delivery)))
    result = DeliveryResult(delivery, location)
    if period is not None:
        raised = _post(session, delivery, lines, location, period, user.id)
        result.raised = _posted(session, delivery, raised, location, user.id)
    return result


def delete_delivery(session: Session, user: Principal, delivery_uid: str) -> Delivery:
    delivery, location = _draft_for_update(session, user, delivery_uid)
    referenced = session.scalar(select(NonConformance.ncr_number).where(NonConformance.delivery_id == delivery.id))
    if referenced is not None:
        raise AppError("INVALID_STATUS", 400, f"Delivery {delivery.delivery_no} is referenced by {referenced}",
                       {"status": delivery.status, "ncr_no": referenced})
    documents.record(session, actor_id=user.id, location=location, entity_type="delivery",
                     entity_id=delivery.id, action="DELIVERY_DELETED", changes=audit.diff(_state(delivery), {}))
    session.delete(delivery)
    session.flush()
    return delivery


def delivery_by_uid(session: Session, delivery_uid: str, lock: bool = False) -> Delivery:
    query = select(Delivery).where(Delivery.uid == documents.parse_uid(delivery_uid, "Delivery"))
    delivery = session.scalars(query.with_for_update() if lock else query).first()
    if delivery is None:
        raise not_found("Delivery", delivery_uid)
    return delivery


def lines_of(session: Session, delivery: Delivery) -> list[DeliveryLine]:
    return list(session.scalars(select(DeliveryLine).where(DeliveryLine.delivery_id == delivery.id)
                                .order_by(DeliveryLine.line_number)))


def _draft_for_update(session: Session, user: Principal, delivery_uid: str) -> tuple[Delivery, Location]:
    delivery = delivery_by_uid(session, delivery_uid, lock=True)
    ensure_location_access(session, user, delivery.location_id)
    if delivery.status != "DRAFT":
        raise AppError("INVALID_STATUS", 400, f"Delivery {delivery.delivery_no} is {delivery.status}; only a draft "
                       "can be changed or deleted", {"status": delivery.status})
    location = session.get(Location, delivery.location_id)
    assert location is not None
    return delivery, location


def _apply_header(session: Session, delivery: Delivery, changes: dict[str, Any]) -> None:
    if "supplier_uid" in changes:
        delivery.supplier_id = documents.supplier_by_uid(session, changes["supplier_uid"]).id
    if "invoice_no" in changes:
        delivery.invoice_no = _clean(changes["invoice_no"])
    if "delivery_note" in changes:
        delivery.delivery_note = _clean(changes["delivery_note"])
    if changes.get("delivery_date") is not None:
        delivery.delivery_date = changes["delivery_date"]
    if "supplier_uid" in changes or "invoice_no" in changes:
        _ensure_invoice_free(session, delivery.supplier_id, delivery.invoice_no, delivery.id)


def _posting_period(session: Session, invoice_no: str | None, delivery_date: date) -> Period:
    if not invoice_no:
        raise AppError("VALIDATION_ERROR", 400, "Invalid request data",
                       [{"path": ["invoice_no"], "message": "Invoice number is required to post a delivery"}])
    return period_for_posting(session, delivery_date)


def _ensure_invoice_free(session: Session, supplier_id: int, invoice_no: str | None, own_id: int | None = None) -> None:
    if invoice_no is None:
        return
    query = select(Delivery.delivery_no).where(Delivery.supplier_id == supplier_id, Delivery.invoice_no == invoice_no)
    with session.no_autoflush:  # pending changes flush in _flush_invoice, where a racing duplicate is mapped
        taken = session.scalar(query if own_id is None else query.where(Delivery.id != own_id))
    if taken is not None:
        raise _duplicate_invoice(invoice_no, taken)


def _flush_invoice(session: Session, invoice_no: str | None) -> None:
    """Flush; a racing delivery that took the same supplier invoice meanwhile is the same 409."""
    try:
        session.flush()
    except IntegrityError as err:
        if getattr(getattr(err.orig, "diag", None), "constraint_name", None) != INVOICE_INDEX:
            raise
        raise _duplicate_invoice(invoice_no, None) from None


def _duplicate_invoice(invoice_no: str | None, delivery_no: str | None) -> AppError:
    where = f" (delivery {delivery_no})" if delivery_no else ""
    return AppError("DUPLICATE_ENTRY", 409, f"Invoice {invoice_no} of this supplier is already recorded{where}",
                    {"field": "invoice_no", "invoice_no": invoice_no, "delivery_no": delivery_no})


def _write_lines(session: Session, delivery: Delivery, inputs: list[DeliveryLineInput],
                 items: list[Material]) -> list[DeliveryLine]:
    lines = [DeliveryLine(delivery_id=delivery.id, line_number=n, item_id=item.id, quantity=given.quantity,
                          unit_price=given.unit_price, line_total=stock_ledger.line_value(given.quantity,
                                                                                          given.unit_price))
             for n, (given, item) in enumerate(zip(inputs, items, strict=True), start=1)]
    session.add_all(lines)
    session.flush()
    delivery.total_amount = sum((line.line_total for line in lines), Decimal(0))
    return lines


def _replace_lines(session: Session, delivery: Delivery, inputs: list[DeliveryLineInput]) -> list[DeliveryLine]:
    items = documents.items_by_uid(session, [line.item_uid for line in inputs])
    session.execute(delete(DeliveryLine).where(DeliveryLine.delivery_id == delivery.id))
    return _write_lines(session, delivery, inputs, items)


def _post(session: Session, delivery: Delivery, lines: list[DeliveryLine], location: Location, period: Period,
          actor_id: int) -> list[variance.RaisedVariance]:
    """Receive the lines into stock and write the NCRs of their price variances (numbered by `_posted`)."""
    delivery.status, delivery.period_id = "POSTED", period.id
    delivery.posted_at, delivery.posted_by_id = utcnow(), actor_id
    raised = _raise_variances(session, delivery, lines, location, period, actor_id)
    delivery.has_variance = bool(raised)
    stock_ledger.apply(session, [_receipt(delivery, line, period, actor_id) for line in lines])
    session.flush()  # everything but the numbers: the sequence rows are locked from `_posted` to the commit
    return raised


def _posted(session: Session, delivery: Delivery, raised: list[variance.RaisedVariance], location: Location,
            actor_id: int) -> list[NonConformance]:
    """A posting's last writes, once the delivery has its number: its NCRs' numbers and audit rows, then the
    posting's audit row naming them."""
    ncrs = variance.number_raised(session, delivery, raised, location, actor_id)
    documents.record(session, actor_id=actor_id, location=location, entity_type="delivery",
                     entity_id=delivery.id, action="DELIVERY_POSTED",
                     changes={"status": {"old": "DRAFT", "new": "POSTED"},
                                    "total_amount": {"old": None, "new": float(delivery.total_amount)},
                                    "ncrs": {"old": None, "new": [n.ncr_number for n in ncrs]}})
    return ncrs


def _raise_variances(session: Session, delivery: Delivery, lines: list[DeliveryLine], location: Location,
                     period: Period, actor_id: int) -> list[variance.RaisedVariance]:
    prices = variance.period_prices(session, period.id, [line.item_id for line in lines])
    items = documents.by_id(session, Material, [line.item_id for line in lines])
    raised = []
    for line in lines:
        line.period_price = prices.get(line.item_id)
        found = variance.price_variance(line.period_price, line.unit_price, line.quantity)
        if found is not None:
            line.has_variance = True
            raised.append(variance.raise_price_variance_ncr(session, delivery, line, items[line.item_id],
                                                            found, location, actor_id))
    return raised


def _receipt(delivery: Delivery, line: DeliveryLine, period: Period, actor_id: int) -> stock_ledger.Movement:
    return stock_ledger.Movement(
        location_id=delivery.location_id, item_id=line.item_id, movement_type="RECEIPT", quantity=line.quantity,
        movement_date=delivery.delivery_date, source_key=f"delivery:{delivery.id}:line:{line.line_number}",
        unit_cost=line.unit_price, period_id=period.id, source_type="delivery", source_id=delivery.id,
        actor_id=actor_id)


def _state(delivery: Delivery) -> dict[str, Any]:
    return {"delivery_no": delivery.delivery_no, "supplier_id": delivery.supplier_id,
            "invoice_no": delivery.invoice_no, "delivery_note": delivery.delivery_note,
            "delivery_date": delivery.delivery_date, "status": delivery.status,
            "total_amount": delivery.total_amount}


def _clean(value: str | None) -> str | None:
    value = value.strip() if value is not None else None
    return value or None
