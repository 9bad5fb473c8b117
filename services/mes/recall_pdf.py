"""The recall report as a PDF (reportlab): title, reason, severity, what is recalled, the totals, the affected
customers with their contacts and the units and shipments each received, and when it was generated. A4, text
wrapped inside the table's cells, as many pages as the customers need (the header row repeats)."""

import io
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

MARGIN = 18 * mm
COLUMNS = (45 * mm, 50 * mm, 79 * mm)  # customer, contact, units shipped: the A4 width inside the margins


@dataclass(frozen=True)
class CustomerSection:
    name: str
    contact_email: str | None
    contact_phone: str | None
    units: list[str]  # one line per serial or quantity shipped: what, which shipment, when


@dataclass(frozen=True)
class RecallDocument:
    recall_number: str
    recall_reason: str
    severity: str
    subject: str  # `Lot HSG-20251102-001 (Housing)` or `Serial MOT-00003 (Motor)`
    total_units: int
    customers: list[CustomerSection]
    generated_at: datetime


def render(document: RecallDocument) -> bytes:
    """The PDF's bytes."""
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"Product recall {document.recall_number}",
                            author="mfg-ops", subject=document.subject)
    pdf.build(_story(document))
    return buffer.getvalue()


def _story(document: RecallDocument) -> list[Flowable]:
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    story: list[Flowable] = [
        Paragraph(f"Product recall {_text(document.recall_number)}", styles["Title"]),
        Paragraph(f"<b>Reason:</b> {_text(document.recall_reason)}", body),
        Paragraph(f"<b>Severity:</b> {_text(document.severity)}", body),
        Paragraph(f"<b>Recalled:</b> {_text(document.subject)}", body),
        Paragraph(f"<b>Affected customers:</b> {len(document.customers)} &nbsp; "
                  f"<b>Affected units:</b> {document.total_units}", body),
        Paragraph(f"<b>Generated:</b> {document.generated_at:%Y-%m-%d %H:%M:%S} UTC", body),
        Spacer(1, 6 * mm),
        Paragraph("Affected customers", styles["Heading2"]),
    ]
    if document.customers:
        story.append(_customer_table(document.customers, body))
    else:
        story.append(Paragraph("No affected unit has been shipped to a customer.", body))
    return story


def _customer_table(customers: list[CustomerSection], body: ParagraphStyle) -> Table:
    small = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5)
    rows: list[list[Flowable | str]] = [["Customer", "Contact", "Units shipped"]]
    for customer in customers:
        contact = "<br/>".join(_text(c) for c in (customer.contact_email, customer.contact_phone) if c) or "none"
        rows.append([Paragraph(_text(customer.name), small), Paragraph(contact, small),
                     Paragraph("<br/>".join(_text(unit) for unit in customer.units), small)])
    table = Table(rows, colWidths=COLUMNS, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _text(value: str) -> str:
    """Plain text for reportlab's paragraph markup (`<`, `>` and `&` escaped)."""
    return escape(value)
