"""Certifications and their links to materials. Never commits."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.catalog import Certification, Material, MaterialCertification
from services.catalog import master_data as catalog
from services.common.guards import check_version, locked
from services.common.queries import given


def get_certification(session: Session, certification_id: int) -> Certification:
    certification = session.get(Certification, certification_id)
    if certification is None:
        raise not_found("Certification", certification_id)
    return certification


def list_certifications(session: Session, offset: int, limit: int, certification_type: str | None = None,
                        status: str | None = None, search: str | None = None) -> tuple[list[Certification], int]:
    conditions = given((certification_type, Certification.certification_type == certification_type),
                       (status, Certification.status == status))
    if search:
        conditions.append(catalog.contains(search, Certification.name, Certification.code,
                                           Certification.certificate_number))
    query = select(Certification).where(*conditions)
    rows = session.scalars(query.order_by(Certification.id).offset(offset).limit(limit)).all()
    return list(rows), catalog.count(session, select(Certification.id).where(*conditions))


def _code_taken(code: Any) -> AppError:
    return catalog.duplicate("Certification code", "code", code)


def _check_dates(issued: date | None, expires: date | None) -> None:
    if issued is not None and expires is not None and expires < issued:
        raise catalog.invalid("expiration_date", "expiration_date must not be before issue_date")


def create_certification(session: Session, actor_id: int, values: dict[str, Any]) -> Certification:
    values = {k: v for k, v in values.items() if v is not None}
    _check_dates(values.get("issue_date"), values.get("expiration_date"))
    if catalog.taken(session, Certification.code, values["code"]):
        raise _code_taken(values["code"])
    certification = catalog.insert(session, Certification(**values), _code_taken(values["code"]))
    catalog.record_created(session, actor_id, certification, "certification", "CERTIFICATION_CREATED")
    return certification


def update_certification(session: Session, actor_id: int, certification_id: int, changes: dict[str, Any],
                         expected_version: int | None) -> Certification:
    certification = locked(session, Certification, certification_id, "Certification")
    check_version(certification, expected_version, "Certification")
    changes = catalog.settable(certification, changes)
    _check_dates(changes.get("issue_date", certification.issue_date),
                 changes.get("expiration_date", certification.expiration_date))
    code = changes.get("code")
    if code is not None and catalog.taken(session, Certification.code, code, exclude_id=certification.id):
        raise _code_taken(code)
    catalog.apply_update(session, actor_id, certification, changes, "certification", "CERTIFICATION_UPDATED",
                         _code_taken(code))
    return certification


def delete_certification(session: Session, actor_id: int, certification_id: int) -> None:
    """A certification still linked to materials is refused: the links are evidence."""
    certification = locked(session, Certification, certification_id, "Certification")
    if catalog.taken(session, MaterialCertification.certification_id, certification.id):
        raise catalog.in_use("CERTIFICATION_IN_USE", "Certification", certification.id, ["material_certifications"])
    snapshot = catalog.columns_of(certification)
    catalog.delete(session, certification, lambda table: catalog.in_use(
        "CERTIFICATION_IN_USE", "Certification", certification_id, [table]))
    catalog.record_deleted(session, actor_id, snapshot, "certification", "CERTIFICATION_DELETED")


# --- links to materials ---------------------------------------------------------------------------------

def link_material(session: Session, actor_id: int, values: dict[str, Any]) -> MaterialCertification:
    """One link per material and certification; a second one is a 409."""
    material_id, certification_id = values["material_id"], values["certification_id"]
    if not catalog.exists(session, Material, material_id):
        raise catalog.missing("Material", material_id, "material_id")
    if not catalog.exists(session, Certification, certification_id):
        raise catalog.missing("Certification", certification_id, "certification_id")
    duplicate = AppError("DUPLICATE_ENTRY", 409, f"Material {material_id} is already linked to certification "
                         f"{certification_id}", {"field": "certification_id", "material_id": material_id,
                                                 "certification_id": certification_id})
    if session.scalar(select(MaterialCertification.id).where(MaterialCertification.material_id == material_id,
                                                             MaterialCertification.certification_id
                                                             == certification_id)):
        raise duplicate
    values = {k: v for k, v in values.items() if v is not None}
    link = catalog.insert(session, MaterialCertification(**values), duplicate,
                          AppError("NOT_FOUND", 404, "The material or the certification no longer exists"))
    catalog.record_created(session, actor_id, link, "material_certification", "MATERIAL_CERTIFICATION_LINKED")
    return link


def update_link(session: Session, actor_id: int, link_id: int, changes: dict[str, Any]) -> MaterialCertification:
    link = locked(session, MaterialCertification, link_id, "Material certification")
    changes = catalog.settable(link, changes)
    catalog.apply_update(session, actor_id, link, changes, "material_certification", "MATERIAL_CERTIFICATION_UPDATED")
    return link
