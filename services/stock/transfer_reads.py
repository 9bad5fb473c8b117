"""Reading transfers: the filtered, location-scoped list behind `GET /api/transfers`, and the body of a transfer as
the API shows it, for one transfer or a page of them: the references of a page (locations, users, approvals, lines
and their items) are read with one `IN` query each, so a page of 50 costs the same few statements as one transfer."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.timeutil import iso_z
from models.approvals import ApprovalInstance
from models.catalog import Material
from models.identity import User
from models.stock import Location, Transfer, TransferLine
from services.identity import Principal
from services.stock import access
from services.stock.documents import by_id
from services.stock.records import as_uuid
from services.stock.views import item_ref, location_ref, user_ref

COMPLETED, REJECTED = "COMPLETED", "REJECTED"


class _PageRefs:
    """Every row the bodies of `transfers` refer to, loaded once and kept referenced while they render."""

    def __init__(self, session: Session, transfers: Sequence[Transfer]) -> None:
        ids = [t.id for t in transfers]
        self.lines: dict[int, list[TransferLine]] = defaultdict(list)
        for line in session.scalars(select(TransferLine).where(TransferLine.transfer_id.in_(ids))
                                    .order_by(TransferLine.transfer_id, TransferLine.line_number)):
            self.lines[line.transfer_id].append(line)
        self.items = by_id(session, Material, [line.item_id for lines in self.lines.values() for line in lines])
        self.locations = by_id(session, Location, [i for t in transfers for i in (t.from_location_id,
                                                                                 t.to_location_id)])
        self.users = by_id(session, User, [i for t in transfers for i in (t.requested_by_id, t.decided_by_id)])
        self.approvals = by_id(session, ApprovalInstance, [t.approval_id for t in transfers])

    def user(self, user_id: int | None) -> dict[str, Any] | None:
        return user_ref(self.users.get(user_id)) if user_id else None

    def location(self, location_id: int) -> dict[str, Any] | None:
        found = self.locations.get(location_id)
        return location_ref(found) if found else None

    def line(self, line: TransferLine) -> dict[str, Any]:
        item = self.items[line.item_id]
        return {"id": str(line.uid), "item": item_ref(item), "unit": item.unit_of_measure,
                "quantity": float(line.quantity), "wac": float(line.wac), "value": float(line.value)}


def render_many(session: Session, transfers: Sequence[Transfer]) -> list[dict[str, Any]]:
    refs = _PageRefs(session, transfers)
    return [_body(transfer, refs) for transfer in transfers]


def _body(transfer: Transfer, refs: _PageRefs) -> dict[str, Any]:
    approval = refs.approvals.get(transfer.approval_id) if transfer.approval_id else None
    return {
        "id": str(transfer.uid), "transfer_no": transfer.transfer_no, "request_date": transfer.request_date.isoformat(),
        "status": transfer.status, "total_value": float(transfer.total_value), "notes": transfer.notes,
        "from_location": refs.location(transfer.from_location_id),
        "to_location": refs.location(transfer.to_location_id),
        "lines": [refs.line(line) for line in refs.lines[transfer.id]],
        "requested_by": refs.user(transfer.requested_by_id),
        "approved_by": refs.user(transfer.decided_by_id) if transfer.status == COMPLETED else None,
        "rejected_by": refs.user(transfer.decided_by_id) if transfer.status == REJECTED else None,
        "rejection_reason": transfer.rejection_reason, "approval_id": str(approval.uid) if approval else None,
        "decided_at": iso_z(transfer.decided_at), "completed_at": iso_z(transfer.completed_at),
        "created_at": iso_z(transfer.created_at), "updated_at": iso_z(transfer.updated_at),
    }


def list_transfers(session: Session, user: Principal, *, from_location: str | None, to_location: str | None,
                   status: str | None, start: date | None, end: date | None, offset: int,
                   limit: int) -> tuple[list[dict[str, Any]], int]:
    query = select(Transfer)
    if not access.sees_all_locations(user):
        mine = access.assigned_location_ids(session, user.id)
        query = query.where(or_(Transfer.from_location_id.in_(mine), Transfer.to_location_id.in_(mine)))
    if from_location:
        query = query.where(Transfer.from_location_id == access.location_by_uid(session, from_location).id)
    if to_location:
        query = query.where(Transfer.to_location_id == access.location_by_uid(session, to_location).id)
    if status:
        query = query.where(Transfer.status == status)
    if start:
        query = query.where(Transfer.request_date >= start)
    if end:
        query = query.where(Transfer.request_date <= end)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Transfer.request_date.desc(), Transfer.id.desc()).offset(offset).limit(limit))
    return render_many(session, list(rows)), total


def get_transfer(session: Session, user: Principal, transfer_uid: str) -> dict[str, Any]:
    transfer = session.scalars(select(Transfer).where(Transfer.uid == as_uuid(transfer_uid, "Transfer"))).first()
    if transfer is None:
        raise not_found("Transfer", transfer_uid)
    if not access.sees_all_locations(user):
        mine = access.assigned_location_ids(session, user.id)
        if transfer.from_location_id not in mine and transfer.to_location_id not in mine:
            access.ensure_location_access(session, user, transfer.from_location_id)
    return render_many(session, [transfer])[0]
