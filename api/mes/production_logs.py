"""`POST /api/v1/production-logs` (manufacturing-erp.md §6.2): a direct guarded write (services/mes/production_logs.py)
that then tells the work order's lifecycle its new total. The list is `/api/v1/work-orders/{id}/production-logs`."""

from fastapi import Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.deps import TemporalDep, in_transaction, require
from api.mes.work_order_calls import production_logged
from api.mes.work_order_schemas import ProductionLogCreate, ProductionLogOut
from core.permissions import Perm
from services.identity import Principal
from services.mes import production_logs
from services.mes.work_order_reads import progress_percent

router = dialect_router(Dialect.ERP, prefix="/api/v1/production-logs", tags=["erp: work orders"])


@router.post("", status_code=201)
async def log_production(body: ProductionLogCreate, request: Request, client: TemporalDep,
                         user: Principal = require(Perm.LOG_PRODUCTION)) -> ProductionLogOut:
    with field_errors():
        logged = await in_transaction(request, production_logs.record, user.id, body.model_dump())
    await production_logged(client, logged.log.work_order_id, logged.progress)
    log = logged.log
    return ProductionLogOut(id=log.id, work_order_id=log.work_order_id, work_order_number=logged.work_order_number,
                            quantity_completed=log.quantity_completed, cumulative_completed=log.cumulative_completed,
                            quantity_ordered=logged.quantity_ordered,
                            progress_percent=progress_percent(log.cumulative_completed, logged.quantity_ordered),
                            material_cost_added=log.material_cost_added, labor_cost_added=log.labor_cost_added,
                            logged_at=log.logged_at)
