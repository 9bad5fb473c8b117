"""ERP finished-goods serials (manufacturing-erp.md §6.9 `POST /api/v1/serial-numbers/generate`): `{prefix}-{NNNNN}`
from one gap-free sequence per prefix, each serial claimed in the system-wide registry (`serial_numbers`, kind
`product`: unique forever across cells, modules, packs and products; a number another kind already holds is passed
over). A work order never gets more serials than it orders.

Concurrency: the work order's row is locked first (two calls for one work order are serialised, so the cap holds),
then the prefix's sequence row (held until the commit: calls for one prefix take consecutive blocks in commit
order, and a call that fails rolls its block back, leaving no gap). Always in that order: no deadlock. Never
commits."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.errors import AppError
from core.timeutil import utcnow
from dto.mes import WorkOrderStatus
from models.mes import WorkOrder
from models.mes.traceability import ProductSerial
from models.operations import SerialNumber
from services import audit
from services.common.guards import field_error

SERIAL_KIND = "product"
SEQUENCE_PERIOD = "serial"  # one sequence per prefix, never reset
SEQUENCE_KEY_CHARS = 20  # document_sequences.prefix
WIDTH = 5
# A block of `:count` consecutive values: the last one is answered (the first is last - count + 1).
TAKE_BLOCK = text("""
    INSERT INTO document_sequences (prefix, period, last_value) VALUES (:prefix, :period, :count)
    ON CONFLICT (prefix, period) DO UPDATE SET last_value = document_sequences.last_value + :count
    RETURNING last_value
""")


@dataclass(frozen=True)
class GeneratedSerials:
    work_order_id: int
    work_order_number: str
    product_id: int
    serial_numbers: list[str]
    generated_at: datetime


def sequence_key(prefix: str) -> str:
    """The document-sequence prefix counting a serial prefix: `SN:PUMP-2511`, or a digest of a long prefix."""
    if len(prefix) + 3 <= SEQUENCE_KEY_CHARS:
        return f"SN:{prefix}"
    return "SN#" + hashlib.sha256(prefix.encode()).hexdigest()[:SEQUENCE_KEY_CHARS - 3]


def generate(session: Session, actor_id: int, work_order_id: int, product_id: int, quantity: int,
             prefix: str) -> GeneratedSerials:
    """`quantity` new serials of the work order's product: refused (naming the field) for an unknown work order or
    another product, for a cancelled work order, and past the quantity ordered (with the figures)."""
    order = session.scalars(select(WorkOrder).where(WorkOrder.id == work_order_id).with_for_update()).first()
    if order is None:
        raise field_error("work_order_id", f"Work order {work_order_id} not found")
    if order.part_id != product_id:
        raise field_error("product_id", f"Work order {order.work_order_number} makes product {order.part_id}, "
                          f"not {product_id}")
    if order.status == WorkOrderStatus.CANCELLED.value:
        raise AppError("INVALID_STATUS", 400, "Cannot generate serial numbers",
                       f"Work order {order.work_order_number} is cancelled")
    _check_cap(session, order, quantity)
    numbers = _take_free(session, prefix, quantity)
    session.execute(insert(ProductSerial), [{"serial_number": n, "work_order_id": order.id, "part_id": order.part_id}
                                            for n in numbers])
    audit.record(session, actor_id=actor_id, entity_type="work_order", entity_id=order.id,
                 action_type="SERIALS_GENERATED",
                 payload_diff={"serial_numbers": {"old": None, "new": [numbers[0], numbers[-1]]},
                               "quantity": {"old": None, "new": quantity}})
    return GeneratedSerials(order.id, order.work_order_number, order.part_id, numbers, utcnow())


def _check_cap(session: Session, order: WorkOrder, quantity: int) -> None:
    existing = int(session.scalar(select(func.count()).where(ProductSerial.work_order_id == order.id)) or 0)
    if existing + quantity > order.quantity_ordered:
        raise AppError("SERIAL_LIMIT", 400, "Too many serial numbers",
                       f"Work order {order.work_order_number} orders {order.quantity_ordered} units and has "
                       f"{existing} serial numbers; {quantity} more would make {existing + quantity}")


def _take_free(session: Session, prefix: str, quantity: int) -> list[str]:
    """The next `quantity` serials of the prefix, each claimed in the system-wide registry. A number some other
    serial (a cell, module or pack of the same form) already holds is passed over: every number of the prefix is
    used exactly once, by one thing."""
    numbers: list[str] = []
    while len(numbers) < quantity:
        numbers += _claimed(session, _take(session, prefix, quantity - len(numbers)))
    return numbers


def _take(session: Session, prefix: str, quantity: int) -> list[str]:
    last = int(session.execute(TAKE_BLOCK, {"prefix": sequence_key(prefix), "period": SEQUENCE_PERIOD,
                                            "count": quantity}).scalar_one())
    return [f"{prefix}-{value:0{WIDTH}d}" for value in range(last - quantity + 1, last + 1)]


def _claimed(session: Session, numbers: list[str]) -> list[str]:
    """The numbers this call claimed in the registry (one statement), in order."""
    claimed = set(session.scalars(pg_insert(SerialNumber).values([{"serial": n, "kind": SERIAL_KIND} for n in numbers])
                                  .on_conflict_do_nothing().returning(SerialNumber.serial)))
    return [n for n in numbers if n in claimed]
