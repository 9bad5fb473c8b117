"""Transfers between locations: requested PENDING_APPROVAL with an approval through the engine; the
approving decision re-checks the source's stock and moves it (source out at the source's WAC,
destination in at that cost, destination WAC recomputed) in the decision's own transaction; a rejection
records the reason. Called from the transfer lifecycle's activities and the approval hook; never commits."""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from core.numbering import provisional, yearly_number
from core.settings import get_settings
from core.timeutil import utcnow
from dto.approvals import (
    ApprovalAction,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalStatus,
    DecisionEffect,
    StepEffect,
    StepPlan,
    TaskView,
)
from dto.identity import Actor
from dto.stock import CreateTransfer, TransferDecisionEffect, TransferResult, TransferStatus, TransferView
from models.approvals import ApprovalInstance
from models.catalog import Material
from models.stock import Location, LocationStock, Transfer, TransferLine
from services import audit
from services.approvals import engine as approvals
from services.stock import documents, transfer_reads
from services.stock import ledger as stock_ledger
from services.stock import records as stock_records
from services.stock.ledger import Movement
from services.stock.posting import period_for_posting
from services.stock.records import as_uuid

REFERENCE_TYPE = "transfer"


def approval_step() -> StepPlan:
    """One step: a SUPERVISOR (or ADMIN) decides; past the SLA it escalates to the ADMINs."""
    return StepPlan(step_number=1, name="Transfer approval", approver_role="supervisor",
                    sla_seconds=get_settings().transfer_approval_sla_seconds, escalation_role="admin")


def create(session: Session, request: CreateTransfer) -> TransferView:
    """A transfer requested by a `Transfer` lifecycle (its approval runs in an `approval-{id}` child)."""
    transfer = _create(session, request, None)
    return view(session, transfer, _approval_request(session, transfer))


def request_transfer(session: Session, request: CreateTransfer, engine_workflow_id: str) -> TransferResult:
    """A transfer requested by a `TransferV2` lifecycle, which runs its approval: step 1 opens here."""
    transfer = _create(session, request, engine_workflow_id)
    approval = _approval_request(session, transfer)
    if approval is not None:
        approvals.open_step(session, StepEffect(instance_id=approval.instance_id, step=approval.steps[0],
                                                op_key=f"{engine_workflow_id}:step-1"))
    return result(session, transfer, approval)


def result(session: Session, transfer: Transfer, approval: ApprovalRequest | None = None) -> TransferResult:
    codes = dict(session.execute(select(Location.id, Location.code).where(
        Location.id.in_((transfer.from_location_id, transfer.to_location_id)))).all())
    return TransferResult(id=transfer.id, status=TransferStatus(transfer.status), transfer_no=transfer.transfer_no,
                          route=f"{codes.get(transfer.from_location_id)} → {codes.get(transfer.to_location_id)}",
                          total_value=transfer.total_value, approval=approval)


def _create(session: Session, request: CreateTransfer, engine_workflow_id: str | None) -> Transfer:
    """The request, its lines and its approval instance under a provisional number; the TRF number is taken as
    the last write before the commit (the sequence row is held only for the commit and a refused request
    consumes no number), then written where it shows: the approval's reference and the audit row."""
    existing = _by_uid(session, request.transfer_uid, missing_ok=True)
    if existing is not None:  # a retried create
        return existing
    source, destination = _location(session, request.from_location_uid), _location(session, request.to_location_uid)
    if source.id == destination.id:
        raise AppError("VALIDATION_ERROR", 400, "Source and destination must differ",
                       [{"path": ["to_location_id"], "message": "Source and destination must differ"}])
    items = documents.items_by_uid(session, [line.item_uid for line in request.lines])
    stock_records.ensure_postable(source, items)
    stock_records.ensure_postable(destination)
    period = period_for_posting(session, request.request_date)
    transfer = Transfer(uid=uuid.UUID(request.transfer_uid), transfer_no=provisional("TRF"),
                        from_location_id=source.id, to_location_id=destination.id, period_id=period.id,
                        request_date=request.request_date, notes=request.notes, requested_by_id=request.actor.id)
    session.add(transfer)
    session.flush()
    transfer.total_value = _add_lines(session, transfer, source, request, items)
    instance = approvals.create_instance(
        session, template_id=None, reference_type=REFERENCE_TYPE, reference_id=transfer.id,
        reference_number=transfer.transfer_no, amount=transfer.total_value, currency="SAR",
        requester_id=request.actor.id, steps=[approval_step()], priority="normal",
        extra_data={"from": source.code, "to": destination.code}, notes=request.notes,
        workflow_id=engine_workflow_id)
    transfer.approval_id = instance.id
    session.flush()  # everything else first: the sequence row is locked from here to the commit
    transfer.transfer_no = instance.reference_number = yearly_number(session, "TRF")
    audit.record(session, actor_id=request.actor.id, entity_type="transfer", entity_id=transfer.id,
                 action_type="TRANSFER_REQUESTED", payload_diff=audit.created(
                     {"transfer_no": transfer.transfer_no, "location_id": source.id, "to_location_id": destination.id,
                      "total_value": transfer.total_value, "status": transfer.status}))
    session.flush()
    return transfer


def _add_lines(session: Session, transfer: Transfer, source: Location, request: CreateTransfer,
               items: list[Material]) -> Decimal:
    """The lines, valued at the source's current WAC; a line above the source's stock is refused now."""
    total = Decimal(0)
    for number, (line, item) in enumerate(zip(request.lines, items, strict=True), start=1):
        stock = session.scalars(select(LocationStock).where(LocationStock.location_id == source.id,
                                                            LocationStock.item_id == item.id)).first()
        on_hand, wac = (stock.on_hand, stock.wac) if stock else (Decimal(0), Decimal(0))
        if line.quantity > on_hand:
            raise stock_ledger.insufficient_stock(
                session, stock or LocationStock(location_id=source.id, item_id=item.id, on_hand=on_hand),
                line.quantity)
        value = stock_ledger.line_value(line.quantity, wac)
        session.add(TransferLine(transfer_id=transfer.id, line_number=number, item_id=item.id,
                                 quantity=line.quantity, wac=wac, value=value))
        total += value
    return total


def complete(session: Session, transfer_id: int, actor: Actor) -> None:
    """The approving decision: re-check and move the stock, in the caller's transaction → COMPLETED."""
    transfer = session.get(Transfer, transfer_id, with_for_update=True)
    if transfer is None:
        raise not_found("Transfer", transfer_id)
    if transfer.status != TransferStatus.PENDING_APPROVAL:
        raise AppError("INVALID_STATUS", 400, f"Transfer {transfer.transfer_no} is {transfer.status}",
                       {"status": transfer.status})
    period = period_for_posting(session, transfer.request_date)
    lines = _lines(session, transfer.id)
    sources = stock_ledger.lock_stock(session, [(transfer.from_location_id, line.item_id) for line in lines] +
                                      [(transfer.to_location_id, line.item_id) for line in lines])
    movements = []
    for line in lines:
        line.wac = sources[(transfer.from_location_id, line.item_id)].wac
        line.value = stock_ledger.line_value(line.quantity, line.wac)
        movements += [_movement(transfer, line, period.id, actor, "TRANSFER_OUT", transfer.from_location_id, None),
                      _movement(transfer, line, period.id, actor, "TRANSFER_IN", transfer.to_location_id, line.wac)]
    stock_ledger.apply(session, movements)
    transfer.total_value = sum((line.value for line in lines), Decimal(0))
    _decided(session, transfer, actor.id, TransferStatus.COMPLETED)
    transfer.completed_at = transfer.decided_at


def _movement(transfer: Transfer, line: TransferLine, period_id: int, actor: Actor, kind: str, location_id: int,
              unit_cost: Decimal | None) -> Movement:
    return Movement(location_id=location_id, item_id=line.item_id, movement_type=kind, quantity=line.quantity,
                    movement_date=transfer.request_date, unit_cost=unit_cost, period_id=period_id,
                    source_type="transfer", source_id=transfer.id, actor_id=actor.id,
                    source_key=f"transfer:{transfer.id}:line:{line.line_number}:{kind}")


def on_decision(session: Session, instance: ApprovalInstance, effect: DecisionEffect) -> None:
    """The approval engine's hook: an approval moves the stock in the decision's transaction."""
    if effect.final and effect.decision.action == ApprovalAction.APPROVED:
        complete(session, instance.reference_id, effect.decision.actor)


def apply_outcome(session: Session, transfer_uid: str, outcome: ApprovalOutcome) -> TransferView:
    """After the approval finished: a rejection (or withdrawal) ends the transfer, with its reason."""
    return view(session, _apply_outcome(session, transfer_uid, outcome))


def _apply_outcome(session: Session, transfer_uid: str, outcome: ApprovalOutcome) -> Transfer:
    transfer = _by_uid(session, transfer_uid, lock=True)
    if transfer.status == TransferStatus.PENDING_APPROVAL and outcome.status.value != "approved":
        transfer.rejection_reason = outcome.comments
        _decided(session, transfer, outcome.decided_by, TransferStatus.REJECTED)
    return transfer


def decide(session: Session, effect: TransferDecisionEffect) -> tuple[TransferResult, TaskView]:
    """A `TransferV2` decision, in one transaction: recorded (an approval moves the stock, `on_decision`), the
    request closed, and a rejection applied. Retrying is harmless: each part finds its own work done."""
    decision = effect.decision.decision
    task = approvals.record_decision(session, effect.decision)
    outcome = ApprovalOutcome(instance_id=effect.decision.instance_id, status=ApprovalStatus(decision.action.value),
                              decided_by=decision.actor.id, comments=decision.comments)
    return _closed(session, effect.transfer_uid, outcome), task


def withdraw(session: Session, transfer_uid: str, instance_id: int, actor_id: int | None) -> TransferResult:
    """The request withdrawn (by its requester or an admin): the transfer ends REJECTED."""
    outcome = ApprovalOutcome(instance_id=instance_id, status=ApprovalStatus.CANCELLED, decided_by=actor_id)
    return _closed(session, transfer_uid, outcome)


def _closed(session: Session, transfer_uid: str, outcome: ApprovalOutcome) -> TransferResult:
    approvals.finish(session, outcome)
    return result(session, _apply_outcome(session, transfer_uid, outcome))


def _decided(session: Session, transfer: Transfer, actor_id: int | None, status: TransferStatus) -> None:
    before = transfer.status
    transfer.status, transfer.decided_by_id, transfer.decided_at = status.value, actor_id, utcnow()
    transfer.version += 1
    audit.record(session, actor_id=actor_id, entity_type="transfer", entity_id=transfer.id,
                 action_type=f"TRANSFER_{status.value}", payload_diff={
                     "status": {"old": before, "new": status.value},
                     "location_id": {"old": None, "new": transfer.from_location_id},
                     "rejection_reason": {"old": None, "new": transfer.rejection_reason}})
    session.flush()


def current_view(session: Session, transfer_uid: str) -> TransferView:
    return view(session, _by_uid(session, transfer_uid))


def view(session: Session, transfer: Transfer, approval: ApprovalRequest | None = None) -> TransferView:
    return TransferView(id=transfer.id, status=TransferStatus(transfer.status), approval=approval,
                        body=render(session, transfer))


def render(session: Session, transfer: Transfer) -> dict[str, Any]:
    return transfer_reads.render_many(session, [transfer])[0]


def _lines(session: Session, transfer_id: int) -> list[TransferLine]:
    return list(session.scalars(select(TransferLine).where(TransferLine.transfer_id == transfer_id)
                                .order_by(TransferLine.line_number)))


def _approval_request(session: Session, transfer: Transfer) -> ApprovalRequest | None:
    if transfer.status != TransferStatus.PENDING_APPROVAL or transfer.approval_id is None:
        return None
    return ApprovalRequest(instance_id=transfer.approval_id, reference_type=REFERENCE_TYPE, reference_id=transfer.id,
                           amount=transfer.total_value, requester_id=transfer.requested_by_id,
                           steps=[approval_step()], allow_self_approval=get_settings().allow_self_approval)


def _by_uid(session: Session, uid: str, lock: bool = False, missing_ok: bool = False) -> Any:
    query = select(Transfer).where(Transfer.uid == as_uuid(uid, "Transfer"))
    transfer = session.scalars(query.with_for_update() if lock else query).first()
    if transfer is None and not missing_ok:
        raise not_found("Transfer", uid)
    return transfer


def _location(session: Session, uid: str) -> Location:
    return stock_records.by_uid(session, Location, uid, "Location")


approvals.register_entity("transfer", approvals.ApprovedEntity("Transfer", on_decision=on_decision))
