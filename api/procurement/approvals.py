"""The endpoints of `/api/v1/workflows` (aerospace "13. Workflow Management with PO Approval") that are about
procurement: a purchase order's submit and approval status, the approver's summary of what waits (approvals,
purchase orders, inspections), and audit trails that describe purchase orders. The approval engine's own
endpoints (templates, instances, decisions) are api/approvals/instances.py."""

from typing import Any

from fastapi import Path, Query, Request

from api.approvals.schemas import ApprovalInstanceOut
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, SafeStr
from api.contracts.wire import WireResponse
from api.deps import CurrentUser, SessionDep, TemporalDep, actor_of, in_transaction, require
from api.procurement.purchase_order_calls import run_command
from api.procurement.schemas.approvals import AuditTrailEntryOut, MyApprovalsOut, PoApprovalStatusOut
from api.procurement.schemas.purchase_orders import SubmitBody
from core.errors import access_denied, workflow_violation
from core.permissions import Perm, has_permission
from dto.procurement import PoCommand
from services.approvals import reads as approval_reads
from services.identity import Principal
from services.procurement import approval_reads as queries
from workflows.procurement.purchase_order import PurchaseOrderWorkflow

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/workflows", tags=["workflows"])


@router.post("/po/{po_id}/submit", response_model=ApprovalInstanceOut)
async def submit_po(po_id: DbId, request: Request, client: TemporalDep, body: SubmitBody | None = None,
                    user: Principal = require(Perm.MANAGE_ORDERS)) -> Any:
    """The PO's submit (as `POST /purchase-orders/{id}/submit`), answered with its approval instance (rendered as
    it always was: its `extra_data` is free JSON)."""
    command = PoCommand(action="submit", actor=actor_of(user, request),
                        expected_version=body.version if body else None,
                        payload={"notes": body.notes if body else None})
    view = await run_command(request, client, po_id, PurchaseOrderWorkflow.submit, command)
    if view.approval_instance_id is None:
        raise workflow_violation(f"Purchase order {po_id} has no approval request", {"status": view.status})
    return WireResponse(await in_transaction(request, approval_reads.instance_view, view.approval_instance_id))


@router.get("/po/{po_id}/approval-status", response_model=PoApprovalStatusOut)
def po_approval_status(po_id: DbId, session: SessionDep, user: CurrentUser) -> Any:
    return queries.po_approval_status(session, po_id)


@router.get("/my-approvals", response_model=MyApprovalsOut)
def my_approvals(session: SessionDep, user: CurrentUser) -> Any:
    return queries.my_approvals(session, user)


@router.get("/audit-trail/{entity_type}/{entity_id}", response_model=list[AuditTrailEntryOut])
def audit_trail(session: SessionDep, user: CurrentUser, entity_type: SafeStr = Path(max_length=50),
                entity_id: SafeStr = Path(max_length=100), limit: int = Query(20, ge=1, le=500)) -> Any:
    if not (queries.is_workflow_entity(session, entity_type)
            or has_permission(user.role, Perm.VIEW_AUDIT_LOGS, user.is_superuser)):
        raise access_denied(f"Requires permission {Perm.VIEW_AUDIT_LOGS.value} for the audit trail of "
                            f"{entity_type}")
    # rendered as it always was (json.dumps): the old and new values are free JSON (see api/approvals/instances.py)
    return WireResponse(queries.entity_audit_trail(session, entity_type, entity_id, limit))
