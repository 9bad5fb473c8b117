"""`POST /api/v1/serial-numbers/generate` (manufacturing-erp.md §6.9): serials for a work order's finished goods,
`{prefix}-{NNNNN}`, gap-free per prefix and unique system-wide. Services: services/mes/serials.py."""

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.deps import SessionDep, require
from api.mes.traceability_schemas import SerialsCreate, SerialsOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import serials

router = dialect_router(Dialect.ERP, prefix="/api/v1/serial-numbers", tags=["erp: traceability"])


@router.post("/generate", status_code=201)
def generate(body: SerialsCreate, session: SessionDep, user: Principal = require(Perm.GENERATE_SERIALS)) -> SerialsOut:
    """`quantity` consecutive serials of the prefix; never more for a work order than it orders."""
    with field_errors():
        made = serials.generate(session, user.id, body.work_order_id, body.product_id, body.quantity,
                                body.serial_prefix)
    return SerialsOut(work_order_id=made.work_order_id, work_order_number=made.work_order_number,
                      serial_numbers=made.serial_numbers, generated_at=made.generated_at, product_id=made.product_id)
