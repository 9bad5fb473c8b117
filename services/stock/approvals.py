"""The stock contract's view of approval instances (`/api/approvals/{id}`): transfers and period closes."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.timeutil import iso_z
from models.approvals import ApprovalInstance, ApprovalTask
from models.identity import User
from models.stock import Period, Transfer
from services.stock.records import as_uuid
from services.stock.views import user_ref

ENTITY_TYPES = {"transfer": "TRANSFER", "period_close": "PERIOD_CLOSE"}
STATUSES = {"pending": "PENDING", "in_review": "PENDING", "approved": "APPROVED", "rejected": "REJECTED",
            "returned": "REJECTED", "cancelled": "CANCELLED"}


def instance_by_uid(session: Session, approval_uid: str) -> ApprovalInstance:
    key = as_uuid(approval_uid, "Approval")
    instance = session.scalars(select(ApprovalInstance).where(ApprovalInstance.uid == key,
                                                              ApprovalInstance.reference_type.in_(ENTITY_TYPES))).first()
    if instance is None:
        raise not_found("Approval", approval_uid)
    return instance


def entity_uid(session: Session, instance: ApprovalInstance) -> str | None:
    entity: Transfer | Period | None = (session.get(Transfer, instance.reference_id)
                                        if instance.reference_type == "transfer"
                                        else session.get(Period, instance.reference_id))
    return str(entity.uid) if entity is not None else None


def render(session: Session, instance: ApprovalInstance) -> dict[str, Any]:
    decided = session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance.id,
                                                         ApprovalTask.approver_id.is_not(None))
                              .order_by(ApprovalTask.step_number.desc())).first()
    return {
        "id": str(instance.uid), "entityType": ENTITY_TYPES[instance.reference_type],
        "entityId": entity_uid(session, instance), "status": STATUSES.get(instance.status, instance.status.upper()),
        "requester": _user(session, instance.requested_by),
        "reviewer": _user(session, decided.approver_id) if decided else None,
        "requestedAt": iso_z(instance.requested_at), "reviewedAt": iso_z(decided.decision_at) if decided else None,
        "comments": decided.comments if decided else None,
    }


def _user(session: Session, user_id: int | None) -> dict[str, Any] | None:
    return user_ref(session.get(User, user_id) if user_id else None)
