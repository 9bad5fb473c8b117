"""`/api/v1/inspection-plans` and `/api/v1/inspection-logs` (manufacturing-erp.md §6.8): how a product is
inspected, and the inspections of work orders. Services: services/mes/inspections.py."""

from typing import Annotated

from fastapi import Depends, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.mes.inspection_schemas import (
    InspectionLogCreate,
    InspectionLogOut,
    InspectionPlanCreate,
    InspectionPlanListOut,
    InspectionPlanOut,
    log_out,
    plan_out,
)
from api.mes.work_order_calls import hold_quietly
from api.quality.ncr_report_calls import start_quietly
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services.identity import Principal
from services.mes import inspections
from services.mes.inspection_failures import record_inspection

router = dialect_router(Dialect.ERP, prefix="/api/v1", tags=["erp: inspections"])


@router.get("/inspection-plans", dependencies=[require(Perm.VIEW_PRODUCTS)])
def list_inspection_plans(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                          product_id: DbId | None = None, active_only: bool = False) -> InspectionPlanListOut:
    rows, total = inspections.list_plans(session, paging.offset, paging.per_page, product_id, active_only)
    return InspectionPlanListOut(inspection_plans=[plan_out(p) for p in rows], total=total, page=paging.page,
                                 per_page=paging.per_page)


@router.post("/inspection-plans", status_code=201)
def create_inspection_plan(body: InspectionPlanCreate, session: SessionDep,
                           user: Principal = require(Perm.MANAGE_INSPECTION_PLANS)) -> InspectionPlanOut:
    with field_errors():
        return plan_out(inspections.create_plan(session, user.id, body.model_dump()))


@router.get("/inspection-plans/{plan_id}", dependencies=[require(Perm.VIEW_PRODUCTS)])
def get_inspection_plan(plan_id: DbId, session: SessionDep) -> InspectionPlanOut:
    return plan_out(inspections.get_plan(session, plan_id))


def check_inspector(user: Principal, body: InspectionLogCreate) -> None:
    """An inspector logs their own inspections; a quality manager or an admin may log one for another inspector."""
    if body.inspector_id not in (None, user.id) and not has_permission(user.role, Perm.MANAGE_QA, user.is_superuser):
        raise access_denied("Only a quality manager or an administrator logs an inspection for another inspector")


@router.post("/inspection-logs", status_code=201)
async def log_inspection(body: InspectionLogCreate, request: Request, client: TemporalDep,
                         user: Principal = require(Perm.LOG_INSPECTIONS)) -> InspectionLogOut:
    """The log (and for a failure its NCR) in one transaction; then the NCR's lifecycle starts and the work order
    is held until the NCR is approved."""
    check_inspector(user, body)
    with field_errors():
        log, ncr_number = await in_transaction(request, record_inspection, user.id, body.model_dump())
    if log.ncr_id is not None:
        await start_quietly(client, log.ncr_id)
        await hold_quietly(request, client, user, log.work_order_id, log.ncr_id,
                           f"Inspection {log.id} failed: {ncr_number} raised")
    return log_out(log, ncr_number)
