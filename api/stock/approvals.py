"""Stock contract (multi-location-stock.md) §14, approvals: the same decisions as the entity endpoints."""

from typing import Any

from fastapi import Request
from pydantic import Field
from sqlalchemy.orm import Session

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, TemporalDep, in_transaction, require
from api.stock.common import StockBody, stock_router
from api.stock.decisions import decide_entity
from api.stock.schemas.approvals import ApprovalDetailOut
from core.permissions import Perm
from dto.approvals import ApprovalAction
from services.identity import Principal
from services.stock import approvals as stock_approvals
from services.stock import transfer_reads
from services.stock.periods import close as stock_period_close

router = stock_router(tags=["stock: approvals"])


class StockDecisionBody(StockBody):
    comments: str | None = Field(default=None, max_length=2000)


def approval_with_entity(session: Session, user: Principal, approval_uid: str) -> dict[str, Any]:
    instance = stock_approvals.instance_by_uid(session, approval_uid)
    approval = stock_approvals.render(session, instance)
    entity: dict[str, Any] | None = None
    if approval["entityId"] is not None and instance.reference_type == "transfer":
        entity = transfer_reads.get_transfer(session, user, approval["entityId"])
    elif approval["entityId"] is not None:
        entity = stock_period_close.period_body(session, approval["entityId"])
    return {"approval": approval, "entity": entity}


@router.get("/approvals/{approval_id}", dependencies=[require(Perm.STOCK_VIEW)], response_model=ApprovalDetailOut)
def get_approval(approval_id: SafeStr, session: SessionDep, user: CurrentUser) -> Any:
    return approval_with_entity(session, user, approval_id)


@router.patch("/approvals/{approval_id}/approve", response_model=ApprovalDetailOut)
async def approve(approval_id: SafeStr, request: Request, client: TemporalDep, user: CurrentUser,
                  body: StockDecisionBody | None = None) -> Any:
    await decide_entity(request, client, user, approval_id, ApprovalAction.APPROVED, body.comments if body else None)
    return await in_transaction(request, approval_with_entity, user, approval_id)


@router.patch("/approvals/{approval_id}/reject", response_model=ApprovalDetailOut)
async def reject(approval_id: SafeStr, request: Request, client: TemporalDep, user: CurrentUser,
                 body: StockDecisionBody | None = None) -> Any:
    await decide_entity(request, client, user, approval_id, ApprovalAction.REJECTED, body.comments if body else None)
    return await in_transaction(request, approval_with_entity, user, approval_id)
