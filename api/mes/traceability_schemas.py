"""Bodies of the ERP's traceability (manufacturing-erp.md §6.9): lots, serials, material consumption, customers,
shipments, the forward and backward trace and recall reports (customers, shipments, consumption and the recall's
detail are additions). Numbers are JSON numbers, dates `YYYY-MM-DD`, times UTC with `Z`."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field, model_validator

from api.contracts.types import DbId, SafeStr
from api.contracts.wire import Money, UtcDateTime
from api.mes.schemas import Body, Quantity
from dto.mes.recalls import NoticeStatus, RecallStatus
from services.common.object_store import url_for
from services.mes.consumption import Consumption
from services.mes.lots import LotView
from services.mes.recalls import RecallView
from services.mes.shipments import ShipmentView
from services.mes.traceability import AffectedProduct, BackwardTrace, ForwardTrace

LotNumber = Annotated[SafeStr, Field(min_length=1, max_length=80)]
SerialNumber = Annotated[SafeStr, Field(min_length=1, max_length=100)]
SerialPrefix = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,40}$")]
Units = Annotated[int, Field(ge=1, le=10_000_000)]
MAX_SERIALS_PER_CALL = 10_000
MAX_SERIALS_PER_SHIPMENT = 1_000


# --- lots --------------------------------------------------------------------------------------------------

class LotCreate(Body):
    """`POST /api/v1/lot-numbers`: the contract's body; `supplier_id` and `expiry_date` are additions."""

    material_id: DbId
    quantity: Quantity
    receipt_date: date
    supplier_id: DbId | None = None
    expiry_date: date | None = None  # none: the receipt date plus the material's shelf life, if it has one


class LotOut(BaseModel):
    lot_number: str
    material_id: int
    material_code: str
    material_name: str
    quantity: Money
    receipt_date: date
    expiry_date: date | None
    id: int  # additions from here on
    supplier_id: int | None
    supplier_name: str | None
    quantity_consumed: Money
    created_at: UtcDateTime


def lot_out(lot: LotView) -> LotOut:
    return LotOut(lot_number=lot.lot_number, material_id=lot.material_id, material_code=lot.material_code,
                  material_name=lot.material_name, quantity=lot.quantity, receipt_date=lot.receipt_date,
                  expiry_date=lot.expiry_date, id=lot.id, supplier_id=lot.supplier_id,
                  supplier_name=lot.supplier_name, quantity_consumed=lot.quantity_consumed,
                  created_at=lot.created_at)


# --- serials -----------------------------------------------------------------------------------------------

class SerialsCreate(Body):
    work_order_id: DbId
    product_id: DbId
    quantity: Annotated[int, Field(ge=1, le=MAX_SERIALS_PER_CALL)]
    serial_prefix: SerialPrefix


class SerialsOut(BaseModel):
    work_order_id: int
    work_order_number: str
    serial_numbers: list[str]
    generated_at: UtcDateTime
    product_id: int  # an addition


# --- material consumption ----------------------------------------------------------------------------------

class ConsumptionCreate(Body):
    """A `lot_number` with the `quantity` used, or the `serial_number` of one sub-assembly."""

    lot_number: LotNumber | None = None
    quantity: Quantity | None = None
    serial_number: SerialNumber | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "ConsumptionCreate":
        if (self.lot_number is None) == (self.serial_number is None):
            raise ValueError("give either lot_number (with quantity) or serial_number")
        if self.lot_number is not None and self.quantity is None:
            raise ValueError("quantity is required with lot_number")
        if self.serial_number is not None and self.quantity is not None:
            raise ValueError("a sub-assembly is consumed whole: no quantity with serial_number")
        return self


class ConsumptionOut(BaseModel):
    id: int
    work_order_id: int
    work_order_number: str
    lot_number: str | None
    material_id: int | None
    material_name: str | None
    quantity: Money
    serial_number: str | None
    component_product_name: str | None  # what the sub-assembly is
    component_work_order_number: str | None  # who made it
    recorded_by_id: int | None
    consumed_at: UtcDateTime


def consumption_out(row: Consumption) -> ConsumptionOut:
    return ConsumptionOut(**row.__dict__)


# --- customers and shipments -------------------------------------------------------------------------------

class CustomerCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    contact_email: Annotated[EmailStr, Field(max_length=255)] | None = None
    contact_phone: str | None = Field(default=None, max_length=50)


class CustomerOut(BaseModel):
    id: int
    name: str
    contact_email: str | None
    contact_phone: str | None
    is_active: bool
    created_at: UtcDateTime


class CustomerListOut(BaseModel):
    customers: list[CustomerOut]
    total: int
    page: int
    per_page: int


class ShipmentCreate(Body):
    customer_id: DbId
    ship_date: date
    serial_numbers: list[SerialNumber] = Field(default_factory=list, max_length=MAX_SERIALS_PER_SHIPMENT)
    work_order_id: DbId | None = None
    quantity: Units | None = None


class CustomerRefOut(BaseModel):
    id: int
    name: str


class ShipmentOut(BaseModel):
    id: int
    shipment_number: str
    customer: CustomerRefOut
    ship_date: date
    serial_numbers: list[str]
    work_order_id: int | None
    work_order_number: str | None
    quantity: int | None
    total_units: int
    created_at: UtcDateTime


class ShipmentListOut(BaseModel):
    shipments: list[ShipmentOut]
    total: int
    page: int
    per_page: int


def shipment_out(view: ShipmentView) -> ShipmentOut:
    return ShipmentOut(id=view.id, shipment_number=view.shipment_number,
                       customer=CustomerRefOut(id=view.customer_id, name=view.customer_name), ship_date=view.ship_date,
                       serial_numbers=view.serial_numbers, work_order_id=view.work_order_id,
                       work_order_number=view.work_order_number, quantity=view.quantity,
                       total_units=view.total_units, created_at=view.created_at)


# --- forward and backward trace ----------------------------------------------------------------------------

class TraceInputOut(BaseModel):
    """What was traced: a lot with its material, or a serial with its product."""

    lot_number: str | None = None
    material_name: str | None = None
    serial_number: str | None = None
    product_name: str | None = None


class TraceShipmentOut(BaseModel):
    shipment_number: str
    customer: CustomerRefOut
    ship_date: date
    contact: str | None


class AffectedProductOut(BaseModel):
    work_order_number: str
    product_name: str
    quantity: int
    serial_numbers: list[str]
    shipments: list[TraceShipmentOut]


class ForwardOut(BaseModel):
    trace_type: Literal["forward"] = "forward"
    input: TraceInputOut
    affected_products: list[AffectedProductOut]
    total_affected_customers: int
    total_affected_units: int


def _affected_out(product: AffectedProduct) -> AffectedProductOut:
    return AffectedProductOut(
        work_order_number=product.work_order_number, product_name=product.product_name, quantity=product.quantity,
        serial_numbers=product.serial_numbers,
        shipments=[TraceShipmentOut(shipment_number=u.shipment_number,
                                    customer=CustomerRefOut(id=u.customer.id, name=u.customer.name),
                                    ship_date=u.ship_date, contact=u.customer.contact_email)
                   for u in product.shipments()])


def forward_out(trace: ForwardTrace) -> ForwardOut:
    shown = (TraceInputOut(lot_number=trace.lot_number, material_name=trace.name) if trace.lot_number
             else TraceInputOut(serial_number=trace.serial_number, product_name=trace.name))
    return ForwardOut(input=shown, affected_products=[_affected_out(p) for p in trace.products],
                      total_affected_customers=len(trace.customers), total_affected_units=trace.total_units)


class WorkOrderDoneOut(BaseModel):
    work_order_number: str
    completed_date: date | None


class MaterialUsedOut(BaseModel):
    material_name: str
    lot_number: str | None
    serial_number: str | None  # a sub-assembly: its serial (and `material_name` its product)
    supplier: str | None
    receipt_date: date | None
    quantity: Money  # additions from here on
    work_order_number: str  # the work order that consumed it
    level: int  # 0: the serial's own work order; 1: one of its sub-assemblies; …


class OperationOut(BaseModel):
    operation: str | None  # none: production logged without an operation of the routing
    operator: str
    date: date
    work_order_number: str  # additions
    quantity: int


class GenealogyOut(BaseModel):
    work_order: WorkOrderDoneOut
    materials_used: list[MaterialUsedOut]
    operations_performed: list[OperationOut]


class BackwardOut(BaseModel):
    trace_type: Literal["backward"] = "backward"
    input: TraceInputOut
    genealogy: GenealogyOut


def backward_out(trace: BackwardTrace) -> BackwardOut:
    return BackwardOut(
        input=TraceInputOut(serial_number=trace.serial_number, product_name=trace.product_name),
        genealogy=GenealogyOut(
            work_order=WorkOrderDoneOut(work_order_number=trace.work_order_number,
                                        completed_date=trace.completed_date),
            materials_used=[MaterialUsedOut(**m.__dict__) for m in trace.materials_used],
            operations_performed=[OperationOut(**o.__dict__) for o in trace.operations_performed]))


# --- recall reports ----------------------------------------------------------------------------------------

class RecallCreate(Body):
    recall_reason: str = Field(min_length=1, max_length=4000)
    lot_number: LotNumber | None = None
    serial_number: SerialNumber | None = None  # an addition: recall what one unit went into
    severity: Literal["critical", "major", "minor"]

    @model_validator(mode="after")
    def _one_subject(self) -> "RecallCreate":
        if (self.lot_number is None) == (self.serial_number is None):
            raise ValueError("give either lot_number or serial_number")
        return self


class ProductShippedOut(BaseModel):
    serial_number: str | None  # none: a quantity of a work order's unserialised output
    ship_date: date
    shipment_number: str
    work_order_number: str  # additions
    product_name: str
    quantity: int


class AffectedCustomerOut(BaseModel):
    customer_id: int
    customer_name: str
    contact_email: str | None
    contact_phone: str | None
    products_shipped: list[ProductShippedOut]
    notification_status: NoticeStatus  # additions
    notified_at: UtcDateTime | None


class RecallOut(BaseModel):
    recall_id: str
    recall_reason: str
    severity: str
    affected_lot: str | None
    affected_customers: list[AffectedCustomerOut]
    total_affected_units: int
    total_affected_customers: int
    generated_at: UtcDateTime
    export_url: str | None
    id: int  # additions
    affected_serial: str | None
    status: RecallStatus


def recall_out(view: RecallView) -> RecallOut:
    return RecallOut(
        recall_id=view.recall_number, recall_reason=view.recall_reason, severity=view.severity,
        affected_lot=view.lot_number,
        affected_customers=[AffectedCustomerOut(
            customer_id=c.customer_id, customer_name=c.customer_name, contact_email=c.contact_email,
            contact_phone=c.contact_phone, products_shipped=[ProductShippedOut(**_line(p)) for p in c.products_shipped],
            notification_status=NoticeStatus(c.notice_status), notified_at=c.notified_at) for c in view.customers],
        total_affected_units=view.total_affected_units, total_affected_customers=view.total_affected_customers,
        generated_at=view.generated_at, export_url=url_for(view.export_key) if view.export_key else None,
        id=view.id, affected_serial=view.serial_number, status=RecallStatus(view.status))


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {key: line.get(key) for key in ProductShippedOut.model_fields}

