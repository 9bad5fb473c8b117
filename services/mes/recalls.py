"""Product recalls (manufacturing-erp.md §6.9 `POST /api/v1/recall-reports`; `GET /api/v1/recall-reports/{id}` is an
addition): `RCL-YYYY-NNN` for a lot or a serial, its affected customers and units from the forward trace at the
time it is raised, one notice per customer, and the report as a PDF in the object store
(`recall-reports/<RCL number>.pdf`, served by `GET /api/v1/files/<key>`).

Raising a recall is one transaction: trace, number, report and notices, then the PDF stored under the number as
the last step. Should the commit then fail, the number was never used: the next recall takes it and overwrites
the PDF, and until then no report names the key, so the download answers 404.

The recall's lifecycle (`recall-{id}`, workflows/mes/recall.py) then runs `send_notice` once per customer and
`finish` once; each is one transaction under the row's lock and harmless to repeat. Never commits."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.errors import AppError
from core.mail import render
from core.numbering import yearly_number
from core.timeutil import utcnow
from dto.mes.recalls import FinishRecall, NoticeOutcome, NoticeStatus, RecallOutcome, RecallStatus, SendRecallNotice
from models.mes.traceability import Customer, Lot, RecallNotice, RecallReport
from models.notifications import Notification
from services import audit
from services.common import object_store
from services.common.guards import field_error
from services.common.object_store import ObjectMissing
from services.mes import recall_pdf, traceability
from services.mes.traceability import ForwardTrace, ShippedUnit

PDF_TYPE = "application/pdf"
KEY_PREFIX = "recall-reports"
NOTICE_KIND = "recall_notice"


@dataclass(frozen=True)
class CustomerNotice:
    """An affected customer, what they were shipped, and their notice's state."""

    customer_id: int
    customer_name: str
    contact_email: str | None
    contact_phone: str | None
    products_shipped: list[dict[str, Any]]
    notice_status: str
    notified_at: datetime | None


@dataclass(frozen=True)
class RecallView:
    id: int
    recall_number: str
    recall_reason: str
    severity: str
    lot_number: str | None
    serial_number: str | None
    status: str
    total_affected_units: int
    total_affected_customers: int
    generated_at: datetime
    export_key: str | None
    customers: list[CustomerNotice] = field(default_factory=list)


@dataclass(frozen=True)
class RaisedRecall:
    view: RecallView
    notice_ids: list[int]


def pdf_key(recall_number: str) -> str:
    return f"{KEY_PREFIX}/{recall_number}.pdf"


def raise_recall(session: Session, actor_id: int, values: dict[str, Any]) -> RaisedRecall:
    """The report, its notices and its PDF; an unknown lot or serial is refused naming its field."""
    trace = _trace(session, values.get("lot_number"), values.get("serial_number"))
    customers = trace.customers
    report = RecallReport(recall_number=yearly_number(session, "RCL"), recall_reason=values["recall_reason"],
                          severity=values["severity"], serial_number=trace.serial_number,
                          lot_id=_lot_id(session, trace.lot_number), status=RecallStatus.NOTIFYING.value,
                          total_affected_units=trace.total_units, total_affected_customers=len(customers),
                          created_by_id=actor_id, generated_at=utcnow())
    session.add(report)
    session.flush()
    notices = [RecallNotice(recall_id=report.id, customer_id=c.id, contact_email=c.contact_email,
                            products_shipped=[_line(u) for u in trace.shipped if u.customer.id == c.id],
                            status=NoticeStatus.PENDING.value) for c in customers]
    session.add_all(notices)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="recall_report", entity_id=report.id,
                 action_type="RECALL_RAISED", payload_diff=audit.created({
                     "recall_number": report.recall_number, "severity": report.severity,
                     "lot_number": trace.lot_number, "serial_number": trace.serial_number,
                     "total_affected_units": report.total_affected_units,
                     "total_affected_customers": report.total_affected_customers}))
    view = get_recall(session, str(report.id))
    report.export_key = _store_pdf(view, trace)
    return RaisedRecall(view=replace(view, export_key=report.export_key), notice_ids=[n.id for n in notices])


def _trace(session: Session, lot_number: str | None, serial_number: str | None) -> ForwardTrace:
    try:
        if lot_number is not None:
            return traceability.forward_from_lot(session, lot_number)
        return traceability.forward_from_serial(session, str(serial_number))
    except AppError as err:
        if err.code != "NOT_FOUND":
            raise
        name = "lot_number" if lot_number is not None else "serial_number"
        raise field_error(name, str(err.details)) from err


def _lot_id(session: Session, lot_number: str | None) -> int | None:
    return session.scalar(select(Lot.id).where(Lot.lot_number == lot_number)) if lot_number else None


def _line(unit: ShippedUnit) -> dict[str, Any]:
    """What a customer was shipped of the recalled units: a serial, or a quantity of a work order's output."""
    return {"serial_number": unit.serial_number, "ship_date": unit.ship_date.isoformat(),
            "shipment_number": unit.shipment_number, "work_order_number": unit.work_order_number,
            "product_name": unit.product_name, "quantity": unit.quantity}


def _store_pdf(view: RecallView, trace: ForwardTrace) -> str:
    subject = f"Lot {trace.lot_number}" if trace.lot_number else f"Serial {trace.serial_number}"
    document = recall_pdf.RecallDocument(
        recall_number=view.recall_number, recall_reason=view.recall_reason, severity=view.severity,
        subject=f"{subject} ({trace.name})", total_units=view.total_affected_units,
        customers=[recall_pdf.CustomerSection(c.customer_name, c.contact_email, c.contact_phone,
                                              [unit_text(line) for line in c.products_shipped])
                   for c in view.customers],
        generated_at=view.generated_at)
    key = pdf_key(view.recall_number)
    object_store.put(key, recall_pdf.render(document), PDF_TYPE)
    return key


def unit_text(line: dict[str, Any]) -> str:
    """`PUMP-2511-00003 (Hydraulic Pump), SHIP-2025-042 of 2025-11-08` or `50 x Steel Shaft of WO-2025-001, …`."""
    what = (f"{line['serial_number']} ({line['product_name']})" if line.get("serial_number")
            else f"{line['quantity']} x {line['product_name']} of {line['work_order_number']}")
    return f"{what}, {line['shipment_number']} of {line['ship_date']}"


def notice_ids(session: Session, recall_id: int) -> list[int]:
    """The recall's notices, in order (its lifecycle's input)."""
    return list(session.scalars(select(RecallNotice.id).where(RecallNotice.recall_id == recall_id)
                                .order_by(RecallNotice.id)))


def get_recall(session: Session, reference: str) -> RecallView:
    """A recall by its id or its number (`RCL-2025-003`), with each customer's notice; 404 when there is none."""
    condition = (RecallReport.id == int(reference) if reference.isdigit() and len(reference) < 10
                 else RecallReport.recall_number == reference)
    row = session.execute(select(RecallReport, Lot.lot_number).outerjoin(Lot, Lot.id == RecallReport.lot_id)
                          .where(condition)).first()
    if row is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"Recall report {reference} not found")
    report, lot_number = row.tuple()
    notices = session.execute(select(RecallNotice, Customer.name, Customer.contact_phone)
                              .join(Customer, Customer.id == RecallNotice.customer_id)
                              .where(RecallNotice.recall_id == report.id).order_by(RecallNotice.id)).tuples()
    return RecallView(report.id, report.recall_number, report.recall_reason, report.severity, lot_number,
                      report.serial_number, report.status, report.total_affected_units,
                      report.total_affected_customers, report.generated_at, report.export_key,
                      [CustomerNotice(n.customer_id, name, n.contact_email, phone, list(n.products_shipped),
                                      n.status, n.sent_at) for n, name, phone in notices])


def pdf_content_type(session: Session, key: str) -> str:
    """`application/pdf` for the key of a recall's PDF; 404 for a key no recall report has."""
    if session.scalar(select(RecallReport.id).where(RecallReport.export_key == key)) is None:
        raise ObjectMissing(key)
    return PDF_TYPE


def send_notice(session: Session, command: SendRecallNotice) -> NoticeOutcome:
    """One customer's notice: into the notification outbox, addressed to their contact (`sent`), or `failed` when
    they have no e-mail. Under the notice's row lock; a notice no longer pending answers its status unchanged."""
    notice = session.scalars(select(RecallNotice).where(RecallNotice.id == command.notice_id,
                                                        RecallNotice.recall_id == command.recall_id)
                             .with_for_update()).first()
    if notice is None:
        raise AppError("NOT_FOUND", 404, f"Recall notice {command.notice_id} not found")
    if notice.status != NoticeStatus.PENDING.value:
        return NoticeOutcome(notice_id=notice.id, status=NoticeStatus(notice.status))
    if not notice.contact_email:
        notice.status = NoticeStatus.FAILED.value
    else:
        notice.notification_id = _enqueue(session, notice)
        notice.status, notice.sent_at = NoticeStatus.SENT.value, utcnow()
    audit.record(session, actor_id=None, entity_type="recall_report", entity_id=notice.recall_id,
                 action_type="RECALL_NOTICE_" + notice.status.upper(),
                 payload_diff={"customer_id": {"old": None, "new": notice.customer_id},
                               "status": {"old": NoticeStatus.PENDING.value, "new": notice.status}})
    return NoticeOutcome(notice_id=notice.id, status=NoticeStatus(notice.status))


def _enqueue(session: Session, notice: RecallNotice) -> int:
    """The notice's e-mail in the outbox (to an address, not a user: `recipient_user_id` stays empty), once per
    notice whatever the retries: its key is the notice's."""
    report = session.get_one(RecallReport, notice.recall_id)
    customer = session.get_one(Customer, notice.customer_id)
    lot_number = session.scalar(select(Lot.lot_number).where(Lot.id == report.lot_id)) if report.lot_id else None
    subject, body = render(NOTICE_KIND, recall_number=report.recall_number, severity=report.severity,
                           reason=report.recall_reason, customer_name=customer.name,
                           affected=f"lot {lot_number}" if lot_number else f"serial {report.serial_number}",
                           units=[unit_text(line) for line in notice.products_shipped])
    key = f"recall-notice:{notice.id}"
    inserted = session.scalar(pg_insert(Notification).values(
        key=key, kind=NOTICE_KIND, recipient_user_id=None, recipient_email=notice.contact_email, subject=subject,
        body=body, status="pending", reference_type="recall_report", reference_id=report.id)
        .on_conflict_do_nothing().returning(Notification.id))
    if inserted is not None:
        return int(inserted)
    return int(session.scalars(select(Notification.id).where(Notification.key == key)).one())


def finish(session: Session, command: FinishRecall) -> RecallOutcome:
    """Every notice went out (or failed): the recall is `notified`."""
    report = session.scalars(select(RecallReport).where(RecallReport.id == command.recall_id)
                             .with_for_update()).first()
    if report is None:
        raise AppError("NOT_FOUND", 404, f"Recall report {command.recall_id} not found")
    if report.status != RecallStatus.NOTIFIED.value:
        report.status = RecallStatus.NOTIFIED.value
        audit.record(session, actor_id=None, entity_type="recall_report", entity_id=report.id,
                     action_type="RECALL_NOTIFIED", payload_diff={
                         "status": {"old": RecallStatus.NOTIFYING.value, "new": RecallStatus.NOTIFIED.value},
                         "notices_sent": {"old": None, "new": command.sent},
                         "notices_failed": {"old": None, "new": command.failed}})
    return RecallOutcome(recall_id=report.id, status=RecallStatus(report.status))

