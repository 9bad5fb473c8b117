"""`/api/approvals/{id}/approve|reject`: the same decision as the entity's own endpoint."""

from fastapi import Request
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.deps import in_transaction
from api.stock.period_close_calls import decide_period_close
from api.stock.transfer_calls import decide_transfer
from dto.approvals import ApprovalAction
from services.identity import Principal
from services.stock import approvals as stock_approvals


def _entity(session: Session, approval_uid: str) -> tuple[str, str | None]:
    instance = stock_approvals.instance_by_uid(session, approval_uid)
    return instance.reference_type, stock_approvals.entity_uid(session, instance)


async def decide_entity(request: Request, client: Client, user: Principal, approval_uid: str,
                        action: ApprovalAction, comments: str | None) -> None:
    reference_type, entity_uid = await in_transaction(request, _entity, approval_uid)
    assert entity_uid is not None
    if reference_type == "transfer":
        await decide_transfer(request, client, user, entity_uid, action, comments)
    else:
        await decide_period_close(request, client, user, entity_uid, action, comments)
