"""Calls into the period-close lifecycle shared by `/api/periods/{id}/close` and `/api/approvals`."""

import uuid

from fastapi import Request
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.approvals.decisions import decide, open_step
from api.deps import actor_of, in_transaction
from api.lifecycle import create_with_start, settled_or_finished, update_id
from core.errors import AppError
from dto.approvals import ApprovalAction, Decision
from dto.stock import PeriodCloseInput, PeriodCloseView, RequestPeriodClose
from services.approvals import engine as approvals
from services.identity import Principal
from services.stock.periods import close as stock_period_close
from workflows.stock.period_close import PeriodCloseWorkflow, period_close_workflow_id


def _period_id(session: Session, period_uid: str) -> int:
    return stock_period_close.period_by_uid(session, period_uid).id


async def request_close(request: Request, client: Client, user: Principal, period_uid: str,
                        closing_notes: str | None) -> PeriodCloseView:
    period_id = await in_transaction(request, _period_id, period_uid)
    view: PeriodCloseView = await create_with_start(
        client, run=PeriodCloseWorkflow.run, start_input=PeriodCloseInput(period_uid=period_uid),
        workflow_id=period_close_workflow_id(period_uid), create=PeriodCloseWorkflow.request_close,
        request=RequestPeriodClose(actor=actor_of(user, request), period_uid=period_uid, closing_notes=closing_notes),
        result_type=PeriodCloseView, entity_type="period_close", entity_id=period_id,
        summary=f"Close of period {period_uid}",
        update_key=update_id(request, f"close-{period_uid}") or f"close-{period_uid}-{uuid.uuid4()}")
    return view


def _close_approval_of(session: Session, period_uid: str) -> tuple[int | None, str | None]:
    """The period's close approval (open or decided) and the workflow whose engine runs it."""
    period = stock_period_close.period_by_uid(session, period_uid)
    if period.close_approval_id is None:
        return None, None
    return period.close_approval_id, approvals.get_instance(session, period.close_approval_id).workflow_id


def _pending_close(session: Session, period_uid: str) -> int:
    period = stock_period_close.period_by_uid(session, period_uid)
    if period.status != "PENDING_CLOSE" or period.close_approval_id is None:
        raise AppError("INVALID_STATUS", 400, f"Period {period.name} is {period.status}; there is no close to decide",
                       {"status": period.status})
    return period.close_approval_id


async def decide_period_close(request: Request, client: Client, user: Principal, period_uid: str,
                              action: ApprovalAction, comments: str | None) -> None:
    """Approve (the snapshot runs, then CLOSED) or reject (back to OPEN) a pending close."""
    instance_id = await open_step(request, client, lambda session: _pending_close(session, period_uid),
                                  lambda session: _close_approval_of(session, period_uid))
    if instance_id is None:
        return  # a retry of a decision that applied: answer as the first would
    await decide(client, request, instance_id, Decision(action=action, comments=comments,
                                                        actor=actor_of(user, request)))
    await settled_or_finished(client, period_close_workflow_id(period_uid), PeriodCloseWorkflow.decided, instance_id)
