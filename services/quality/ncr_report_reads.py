"""Reading ERP NCR reports: the body `POST /api/v1/ncr-reports` answers (type, work order number, photos, the
current assignee by name), a page of them with filters, and one with its description, escalation level and
transition history. A page is rendered with one query per kind of neighbour, not per report."""

from typing import Any

from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.orm import Session

from core.errors import AppError
from dto.quality import NCR_REPORT
from models.approvals import WorkflowTransition
from models.quality import NcrPhoto, NcrType, NonConformance
from services.common import object_store
from services.common.queries import given
from services.identity import people

WORK_ORDER_NUMBERS = text("SELECT id, work_order_number FROM work_orders WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True))


KIND = "erp"  # the ERP's NCR reports among the one table's NCRs


def report_not_found(ncr_id: int) -> AppError:
    return AppError("NOT_FOUND", 404, "Not found", f"NCR report {ncr_id} not found")


def by_id(session: Session, ncr_id: int, lock: bool = False) -> NonConformance:
    """The ERP NCR report (an NCR of another kind is not one: 404)."""
    query = select(NonConformance).where(NonConformance.id == ncr_id, NonConformance.kind == KIND)
    report = session.scalars(query.with_for_update() if lock else query).first()
    if report is None:
        raise report_not_found(ncr_id)
    return report


def status_of(session: Session, ncr_id: int) -> str:
    return by_id(session, ncr_id).status


def report_view(session: Session, ncr_id: int) -> dict[str, Any]:
    """The contract's body of one report (the `POST` answer)."""
    return render(session, [by_id(session, ncr_id)])[0]


def report_detail(session: Session, ncr_id: int) -> dict[str, Any]:
    """One report with its description, escalation level and history (the creation first)."""
    report = by_id(session, ncr_id)
    return {**render(session, [report])[0], "description": report.description,
            "work_order_id": report.work_order_id, "escalation_level": report.escalation_level,
            "state_entered_at": report.state_entered_at, "version": report.version,
            "history": history(session, report.id)}


def list_reports(session: Session, offset: int, limit: int, *, status: str | None = None,
                 severity: str | None = None, work_order_id: int | None = None,
                 assignee_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of reports, newest first."""
    query = _filtered(select(NonConformance), status, severity, work_order_id, assignee_id)
    total = session.scalar(_filtered(select(func.count(NonConformance.id)), status, severity, work_order_id,
                                     assignee_id)) or 0
    rows = list(session.scalars(query.order_by(NonConformance.id.desc()).offset(offset).limit(limit)))
    return render(session, rows), total


def _filtered(query: Select[Any], status: str | None, severity: str | None, work_order_id: int | None,
              assignee_id: int | None) -> Select[Any]:
    return query.where(NonConformance.kind == KIND, *given(
        (status, NonConformance.status == status), (severity, NonConformance.severity == severity),
        (work_order_id, NonConformance.work_order_id == work_order_id),
        (assignee_id, NonConformance.current_assignee_id == assignee_id)))


def render(session: Session, reports: list[NonConformance]) -> list[dict[str, Any]]:
    """The contract's body of each report: its type's name, work order number, photos and assignee."""
    types = _type_names(session, {r.ncr_type_id for r in reports if r.ncr_type_id})
    orders = _work_order_numbers(session, {r.work_order_id for r in reports if r.work_order_id})
    photos = _photos(session, [r.id for r in reports])
    names = people(session, [r.current_assignee_id for r in reports])
    return [{"id": r.id, "ncr_number": r.ncr_number, "ncr_type": types.get(r.ncr_type_id or 0, ""),
             "severity": r.severity or "", "status": r.status,
             "work_order_number": orders.get(r.work_order_id) if r.work_order_id else None,
             "photos": photos.get(r.id, []), "current_assignee": names.get(r.current_assignee_id or 0),
             "created_at": r.created_at} for r in reports]


def history(session: Session, ncr_id: int) -> list[dict[str, Any]]:
    """Every transition the report went through, oldest first; `performed_by` None: the system (an escalation)."""
    rows = list(session.scalars(select(WorkflowTransition).where(WorkflowTransition.entity_type == NCR_REPORT,
                                                                 WorkflowTransition.entity_id == ncr_id)
                                .order_by(WorkflowTransition.id)))
    names = people(session, [u for row in rows for u in (row.performed_by_id, row.assignee_id)])
    return [{"transition_code": row.transition_code, "from_state": row.from_state, "to_state": row.to_state,
             "performed_by": names.get(row.performed_by_id or 0), "assignee": names.get(row.assignee_id or 0),
             "comment": row.comment, "performed_at": row.performed_at} for row in rows]


def _type_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: row.name for row in session.execute(select(NcrType.id, NcrType.name).where(NcrType.id.in_(ids)))}


def _work_order_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: row.work_order_number for row in session.execute(WORK_ORDER_NUMBERS, {"ids": list(ids)})}


def _photos(session: Session, ncr_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not ncr_ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(select(NcrPhoto.id, NcrPhoto.ncr_id, NcrPhoto.object_key)
                           .where(NcrPhoto.ncr_id.in_(ncr_ids)).order_by(NcrPhoto.id))
    for row in rows:
        found.setdefault(row.ncr_id, []).append({"id": row.id, "url": object_store.url_for(row.object_key)})
    return found
