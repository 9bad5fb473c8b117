"""Order bodies and views (aerospace "Orders"): the simple contract's view of purchase orders.

An order IS a purchase order (one table, one lifecycle); these models only rename fields:
`order_number` = `po_number`, `tax` = `tax_amount`, `total` = `total_amount`, `created_by` = `created_by_id`,
`purchase_order_number` = `requisition_number` (the client's own reference), an item's
`expected_delivery_date` = the line's `required_date` and `specification_notes` = its `specification`."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from api.approvals.schemas import Priority
from api.contracts.types import INT4_MAX, DbId
from api.contracts.wire import AerospacePage, Body, Money, UtcDateTime, WireModel
from api.procurement.schemas.purchase_orders import LineItem, PurchaseOrderCreate
from dto.approvals import ApprovalAction
from dto.procurement import PoStatus


class OrderStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    ORDERED = "ordered"
    SHIPPED = "shipped"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


# PO status → the Order status it renders as. 1:1 except `rejected` (a rejected PO is back in the
# buyer's hands for a new revision: draft) and `closed` (the goods are in and the PO is done: received).
ORDER_STATUS_OF: dict[str, OrderStatus] = {
    PoStatus.DRAFT: OrderStatus.DRAFT,
    PoStatus.REJECTED: OrderStatus.DRAFT,
    PoStatus.PENDING_APPROVAL: OrderStatus.PENDING_APPROVAL,
    PoStatus.APPROVED: OrderStatus.APPROVED,
    PoStatus.ORDERED: OrderStatus.ORDERED,
    PoStatus.PARTIALLY_RECEIVED: OrderStatus.PARTIALLY_RECEIVED,
    PoStatus.RECEIVED: OrderStatus.RECEIVED,
    PoStatus.CLOSED: OrderStatus.RECEIVED,
    PoStatus.CANCELLED: OrderStatus.CANCELLED,
}

# Order status → the PO statuses a `status=` filter matches (`shipped`, `on_hold`: none, the PO lifecycle
# never produces them).
PO_STATUSES_OF: dict[OrderStatus, tuple[str, ...]] = {
    status: tuple(po for po, order in ORDER_STATUS_OF.items() if order == status) for status in OrderStatus
}


def order_status(po_status: str) -> str:
    """The Order status a PO status renders as (an unknown one passes through unchanged)."""
    mapped = ORDER_STATUS_OF.get(po_status)
    return mapped.value if mapped is not None else po_status


Quantity = Field(gt=0, max_digits=14, decimal_places=3)
Price = Field(ge=0, max_digits=14, decimal_places=2)


class OrderItemCreate(Body):
    material_id: DbId
    quantity_ordered: Decimal = Quantity
    unit_of_measure: str | None = Field(default=None, max_length=20)
    unit_price: Decimal = Price
    expected_delivery_date: date | None = None
    specification_notes: str | None = Field(default=None, max_length=255)
    notes: str | None = None

    def line(self) -> LineItem:
        return LineItem(material_id=self.material_id, quantity_ordered=self.quantity_ordered,
                        unit_of_measure=self.unit_of_measure, unit_price=self.unit_price,
                        required_date=self.expected_delivery_date, specification=self.specification_notes,
                        notes=self.notes)


class OrderItemUpdate(Body):
    material_id: DbId | None = None
    quantity_ordered: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=3)
    # Accepted (the contract's example sends it) but not written: received quantities are recorded by
    # goods receipts, and items are editable only while the order is a draft, when nothing is received.
    quantity_received: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=3)
    unit_of_measure: str | None = Field(default=None, max_length=20)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    expected_delivery_date: date | None = None
    specification_notes: str | None = Field(default=None, max_length=255)
    notes: str | None = None

    def changes(self) -> dict[str, Any]:
        """The line's changes under the PO line's column names (only fields the client sent)."""
        given = self.model_dump(exclude_unset=True, exclude={"quantity_received"})
        renamed = {"expected_delivery_date": "required_date", "specification_notes": "specification"}
        return {renamed.get(key, key): value for key, value in given.items()}


class OrderHeader(Body):
    priority: Priority | None = None
    expected_delivery_date: date | None = None
    tax: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    shipping_cost: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    shipping_method: str | None = Field(default=None, max_length=100)
    purchase_order_number: str | None = Field(default=None, max_length=100)
    work_order_reference: str | None = Field(default=None, max_length=100)
    requires_certification: bool | None = None
    notes: str | None = None

    def header(self) -> dict[str, Any]:
        """The header's fields under the PO's column names (only fields the client sent)."""
        given = self.model_dump(exclude_unset=True, include=set(OrderHeader.model_fields))
        renamed = {"tax": "tax_amount", "purchase_order_number": "requisition_number"}
        return {renamed.get(key, key): value for key, value in given.items()}


class OrderCreate(OrderHeader):
    supplier_id: DbId
    status: Literal["draft"] | None = Field(default="draft", description="A new order is always a draft")
    items: list[OrderItemCreate] = Field(default_factory=list, max_length=500)

    def purchase_order(self) -> PurchaseOrderCreate:
        return PurchaseOrderCreate(supplier_id=self.supplier_id, line_items=[item.line() for item in self.items],
                                   **self.header())


class OrderUpdate(OrderHeader):
    supplier_id: DbId | None = None
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)

    def changes(self) -> dict[str, Any]:
        given = self.header()
        if self.supplier_id is not None:
            given["supplier_id"] = self.supplier_id
        return given


class OrderSubmit(Body):
    notes: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)


class OrderApproval(Body):
    """The contract's "Approve Order" sends no body: it approves. `rejected` / `returned` need comments."""

    action: ApprovalAction = ApprovalAction.APPROVED
    comments: str | None = Field(default=None, max_length=4000)


# --- views ------------------------------------------------------------------------------------------------

class OrderItemOut(WireModel):
    id: int
    order_id: int
    line_number: int
    material_id: int
    quantity_ordered: Money
    quantity_received: Money
    unit_of_measure: str | None
    unit_price: Money
    total_price: Money
    is_fully_received: bool
    expected_delivery_date: date | None
    specification_notes: str | None
    notes: str | None


class OrderOut(WireModel):
    """An order (a purchase order in the simple contract's names) with its items."""

    id: int
    order_number: str
    supplier_id: int
    created_by: int | None
    status: str
    priority: str
    order_date: date | None
    expected_delivery_date: date | None
    actual_delivery_date: date | None
    subtotal: Money
    tax: Money
    shipping_cost: Money
    discount: Money
    total: Money
    currency: str
    purchase_order_number: str | None
    shipping_method: str | None
    work_order_reference: str | None
    requires_certification: bool
    notes: str | None
    version: int
    items: list[OrderItemOut]
    created_at: UtcDateTime
    updated_at: UtcDateTime


OrderPage = AerospacePage[OrderOut]


class OrderDeletedOut(WireModel):
    message: str
    id: int
