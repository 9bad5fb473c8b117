"""Calls into the transfer lifecycle shared by `/api/transfers` and `/api/approvals`."""

import uuid
from datetime import date

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.approvals.decisions import decide, open_step
from api.deps import actor_of, in_transaction
from api.lifecycle import create_with_start, idempotency_key, settled_or_finished
from core.errors import AppError, not_found
from core.permissions import Perm, has_permission
from dto.approvals import ApprovalAction, Decision
from dto.stock import CreateTransfer, TransferInput, TransferLineInput, TransferResult, TransferView
from models.stock import Transfer
from services.approvals import engine as approvals
from services.identity import Principal
from services.stock import access
from services.stock import transfers as stock_transfers
from services.stock.records import as_uuid
from workflows.stock.transfer import TransferWorkflow, transfer_workflow_id
from workflows.stock.transfer_v1 import TransferV1Workflow


def transfer_uid_for(user: Principal, key: str | None) -> str:
    """A new transfer's uid; the same `Idempotency-Key` from the same user always names the same transfer."""
    if key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mfg-ops:transfer:{user.id}:{key}"))


def _existing(session: Session, user: Principal, from_location_uid: str, uid: str) -> TransferView | None:
    """The transfer a retry with the same `Idempotency-Key` created, once the caller may use the source."""
    access.accessible_location(session, user, from_location_uid)
    found = session.scalars(select(Transfer).where(Transfer.uid == uuid.UUID(uid))).first()
    return stock_transfers.view(session, found) if found is not None else None


async def request_transfer(request: Request, client: Client, user: Principal, from_location: str, to_location: str,
                           request_date: date, notes: str | None, lines: list[TransferLineInput]) -> TransferView:
    uid = transfer_uid_for(user, idempotency_key(request))
    earlier = await in_transaction(request, _existing, user, from_location, uid)
    if earlier is not None:
        return earlier
    create = CreateTransfer(actor=actor_of(user, request), transfer_uid=uid, from_location_uid=from_location,
                            to_location_uid=to_location, request_date=request_date, notes=notes, lines=lines)
    await create_with_start(
        client, run=TransferWorkflow.run, start_input=TransferInput(transfer_uid=uid),
        workflow_id=transfer_workflow_id(uid), create=TransferWorkflow.create, request=create,
        result_type=TransferResult, entity_type="transfer", entity_id=0,
        summary=f"Transfer {from_location} → {to_location}", update_key=f"create-transfer-{uid}")
    return await in_transaction(request, stock_transfers.current_view, uid)


def _transfer(session: Session, transfer_uid: str) -> Transfer:
    transfer = session.scalars(select(Transfer).where(Transfer.uid == as_uuid(transfer_uid, "Transfer"))).first()
    if transfer is None:
        raise not_found("Transfer", transfer_uid)
    return transfer


def _approval_of(session: Session, transfer_uid: str) -> tuple[int | None, str | None]:
    """The transfer's approval instance (open or decided) and the workflow whose engine runs it."""
    transfer = _transfer(session, transfer_uid)
    if transfer.approval_id is None:
        return None, None
    return transfer.approval_id, approvals.get_instance(session, transfer.approval_id).workflow_id


def _pending(session: Session, user: Principal, transfer_uid: str) -> tuple[int, str | None]:
    """The open approval a decision on this transfer decides, and the workflow whose engine runs it."""
    transfer = _transfer(session, transfer_uid)
    if transfer.status != "PENDING_APPROVAL" or transfer.approval_id is None:
        raise AppError("INVALID_STATUS", 400, f"Transfer {transfer.transfer_no} is {transfer.status}; only a "
                       "PENDING_APPROVAL transfer can be approved or rejected", {"status": transfer.status})
    return transfer.approval_id, approvals.get_instance(session, transfer.approval_id).workflow_id


async def decide_transfer(request: Request, client: Client, user: Principal, transfer_uid: str,
                          action: ApprovalAction, comments: str | None) -> TransferView:
    """Approve (stock moves, COMPLETED) or reject (REJECTED) through the transfer's approval."""
    if not has_permission(user.role, Perm.STOCK_APPROVE, user.is_superuser):
        raise AppError("ACCESS_DENIED", 403, "Only a SUPERVISOR or ADMIN may decide transfers")
    step = await open_step(request, client, lambda session: _pending(session, user, transfer_uid),
                           lambda session: _approval_of(session, transfer_uid))
    if step is None:  # a retry of a decision that applied: answer as the first would
        return await in_transaction(request, stock_transfers.current_view, transfer_uid)
    instance_id, engine = step
    result = await decide(client, request, instance_id, Decision(action=action, comments=comments,
                                                                 actor=actor_of(user, request)), engine)
    if not result.settled:  # a `Transfer` lifecycle records the outcome after its approval child ends
        await settled_or_finished(client, transfer_workflow_id(transfer_uid), TransferV1Workflow.settled,
                                  instance_id)
    view: TransferView = await in_transaction(request, stock_transfers.current_view, transfer_uid)
    return view
