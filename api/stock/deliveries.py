"""Stock contract (multi-location-stock.md §8), deliveries: a location's list, one delivery with its lines
and NCRs, create (DRAFT or POSTED), edit or post a draft, delete a draft (rules: services/stock/deliveries.py).
Viewing needs `stock.view`, the rest `stock.post`; an OPERATOR works only at the locations assigned to them.
The NCRs a posting raised start their lifecycles once its transaction has committed."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from api.contracts.types import SafeStr
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.stock.common import FlexDate, PageDep, StockBody, number, stock_router, with_total
from api.stock.ncr_calls import start_ncr_lifecycles
from api.stock.schemas.documents import (
    DeliveryHeaderOut,
    DeliveryLineOut,
    DeliveryListOut,
    DeliveryNcrOut,
    DeliveryOut,
    DeliverySavedOut,
    DeliverySummaryOut,
    RaisedNcrOut,
    StockDeletedOut,
    item_of,
    location_of,
    period_of,
    supplier_of,
    user_of,
)
from core.permissions import Perm
from models.catalog import Material, Supplier
from models.quality import NonConformance
from models.stock import Delivery, DeliveryLine, Location
from services.identity import Principal
from services.stock import deliveries as stock_deliveries
from services.stock import delivery_reads
from services.stock.deliveries import DeliveryInput, DeliveryLineInput, DeliveryResult
from services.stock.delivery_reads import DeliveryDetails, DeliveryFilters

router = stock_router(tags=["stock: deliveries"])

VIEW = require(Perm.STOCK_VIEW)
POST = require(Perm.STOCK_POST)


# -- request bodies (api/contracts/dialects.py words their errors as Zod does) -------------------------------------

Quantity = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=3)]
UnitPrice = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]


class DeliveryLineBody(StockBody):
    item_id: str
    quantity: Quantity
    unit_price: UnitPrice


DeliveryLines = Annotated[list[DeliveryLineBody], Field(min_length=1, max_length=500)]


class DeliveryBody(StockBody):
    supplier_id: str
    invoice_no: str | None = Field(None, max_length=100)
    delivery_note: str | None = Field(None, max_length=255)
    delivery_date: FlexDate
    status: Literal["DRAFT", "POSTED"] = "DRAFT"
    lines: DeliveryLines


class DeliveryPatchBody(StockBody):
    """Any of a draft's fields; `lines` replace its lines; `status: "POSTED"` posts it after the edit."""

    supplier_id: str | None = None
    invoice_no: str | None = Field(None, max_length=100)
    delivery_note: str | None = Field(None, max_length=255)
    delivery_date: FlexDate | None = None
    status: Literal["DRAFT", "POSTED"] | None = None
    lines: DeliveryLines | None = None


def _line_inputs(lines: list[DeliveryLineBody]) -> list[DeliveryLineInput]:
    return [DeliveryLineInput(line.item_id, line.quantity, line.unit_price) for line in lines]


def _changes(body: DeliveryPatchBody) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True, exclude={"status"})
    changes = {k: v for k, v in given.items() if k in ("invoice_no", "delivery_note") or v is not None}
    if "supplier_id" in changes:
        changes["supplier_uid"] = changes.pop("supplier_id")
    if body.lines is not None:
        changes["lines"] = _line_inputs(body.lines)
    return changes


# -- endpoints ------------------------------------------------------------------------------------------------

@router.get("/locations/{location_id}/deliveries")
def list_location_deliveries(
        location_id: SafeStr, session: SessionDep, response: Response, page: PageDep, user: Principal = VIEW,
        status: Literal["DRAFT", "POSTED"] | None = None,
        supplier_id: Annotated[SafeStr | None, Query(alias="supplierId")] = None,
        has_variance: Annotated[bool | None, Query(alias="hasVariance")] = None,
        start_date: Annotated[FlexDate | None, Query(alias="startDate")] = None,
        end_date: Annotated[FlexDate | None, Query(alias="endDate")] = None) -> DeliveryListOut:
    filters = DeliveryFilters(status, supplier_id, has_variance, start_date, end_date)
    found = delivery_reads.list_deliveries(session, user, location_id, filters, page.offset, page.limit)
    with_total(response, found.total)
    return DeliveryListOut(
        deliveries=[_summary(row, found.suppliers[row.supplier_id], found.location) for row in found.rows],
        total=found.total, page=page.page, limit=page.limit)


@router.get("/deliveries/{delivery_id}")
def get_delivery(delivery_id: SafeStr, session: SessionDep, user: Principal = VIEW) -> DeliveryOut:
    return _details(delivery_reads.get_delivery(session, user, delivery_id))


@router.post("/locations/{location_id}/deliveries")
async def create_delivery(location_id: SafeStr, body: DeliveryBody, request: Request, temporal: TemporalDep,
                          user: Principal = POST) -> DeliverySavedOut:
    """A DRAFT (no stock effect) or a POSTED delivery (stock, WAC and price-variance NCRs)."""
    data = DeliveryInput(body.supplier_id, body.delivery_date, _line_inputs(body.lines), body.invoice_no,
                         body.delivery_note)

    def work(session: Session) -> tuple[DeliverySavedOut, list[str]]:
        result = stock_deliveries.create_delivery(session, user, location_id, data, body.status == "POSTED")
        return _answer(session, result, "Delivery saved as draft."), [str(n.uid) for n in result.raised]

    answer, raised = await in_transaction(request, work)
    await start_ncr_lifecycles(temporal, raised)
    return answer


@router.patch("/deliveries/{delivery_id}")
async def update_delivery(delivery_id: SafeStr, body: DeliveryPatchBody, request: Request, temporal: TemporalDep,
                          user: Principal = POST) -> DeliverySavedOut:
    """Edit a draft; with `status: "POSTED"` also post it."""
    changes = _changes(body)

    def work(session: Session) -> tuple[DeliverySavedOut, list[str]]:
        result = stock_deliveries.update_delivery(session, user, delivery_id, changes, body.status == "POSTED")
        return _answer(session, result, "Delivery updated."), [str(n.uid) for n in result.raised]

    answer, raised = await in_transaction(request, work)
    await start_ncr_lifecycles(temporal, raised)
    return answer


@router.delete("/deliveries/{delivery_id}")
def delete_delivery(delivery_id: SafeStr, session: SessionDep, user: Principal = POST) -> StockDeletedOut:
    deleted = stock_deliveries.delete_delivery(session, user, delivery_id)
    return StockDeletedOut(success=True, id=str(deleted.uid), message=f"Delivery {deleted.delivery_no} deleted.")


# -- rendering (api/stock/schemas/documents.py) ---------------------------------------------------------------

def _answer(session: Session, result: DeliveryResult, draft_message: str) -> DeliverySavedOut:
    """The contract's answer to a create or an edit: the delivery, its lines and the NCRs this call raised."""
    details = delivery_reads.delivery_details(session, result.delivery)
    delivery = result.delivery
    return DeliverySavedOut(id=str(delivery.uid), message=_message(delivery, result.raised, draft_message),
                            delivery=_header(delivery),
                            lines=[_line(line, details.items[line.item_id]) for line in details.lines],
                            ncrs=[_ncr(ncr, details.items) for ncr in result.raised])


def _message(delivery: Delivery, raised: list[NonConformance], draft_message: str) -> str:
    if delivery.status != "POSTED":
        return draft_message
    if raised:
        return (f"Delivery posted. {len(raised)} price variance(s) detected and NCR(s) created "
                "automatically.")
    return "Delivery posted. Stock and WAC updated; no price variance."


def _header_fields(delivery: Delivery) -> dict[str, Any]:
    return {"id": str(delivery.uid), "delivery_no": delivery.delivery_no, "delivery_date": delivery.delivery_date,
            "invoice_no": delivery.invoice_no, "total_amount": float(delivery.total_amount),
            "has_variance": delivery.has_variance, "status": delivery.status}


def _header(delivery: Delivery) -> DeliveryHeaderOut:
    return DeliveryHeaderOut(**_header_fields(delivery))


def _summary_fields(delivery: Delivery, supplier: Supplier, location: Location) -> dict[str, Any]:
    return {**_header_fields(delivery), "delivery_note": delivery.delivery_note, "location": location_of(location),
            "supplier": supplier_of(supplier), "created_at": delivery.created_at, "posted_at": delivery.posted_at}


def _summary(delivery: Delivery, supplier: Supplier, location: Location) -> DeliverySummaryOut:
    return DeliverySummaryOut(**_summary_fields(delivery, supplier, location))


def _details(found: DeliveryDetails) -> DeliveryOut:
    delivery = found.delivery
    return DeliveryOut(
        **_summary_fields(delivery, found.supplier, found.location), period=period_of(found.period),
        created_by=user_of(found.users.get(delivery.created_by_id or 0)),
        posted_by=user_of(found.users.get(delivery.posted_by_id or 0)),
        lines=[_line(line, found.items[line.item_id]) for line in found.lines],
        ncrs=[DeliveryNcrOut(**_ncr_fields(ncr, found.items), status=ncr.status,
                             total_value=number(ncr.total_value)) for ncr in found.ncrs])


def _line(line: DeliveryLine, item: Material) -> DeliveryLineOut:
    return DeliveryLineOut(id=str(line.uid), line_no=line.line_number, item=item_of(item),
                           quantity=float(line.quantity), unit_price=float(line.unit_price),
                           total=float(line.line_total), period_price=number(line.period_price),
                           has_variance=line.has_variance)


def _ncr_fields(ncr: NonConformance, items: dict[int, Material]) -> dict[str, Any]:
    item = items.get(ncr.material_id or 0)
    return {"id": str(ncr.uid), "ncr_no": ncr.ncr_number, "type": ncr.kind.upper(),
            "item": item_of(item) if item else None, "expected_price": number(ncr.expected_price),
            "actual_price": number(ncr.actual_price), "variance": number(ncr.variance),
            "variance_percent": number(ncr.variance_percent)}


def _ncr(ncr: NonConformance, items: dict[int, Material]) -> RaisedNcrOut:
    return RaisedNcrOut(**_ncr_fields(ncr, items))
