"""`/api/v1/certifications` (aerospace): certifications and their links to materials."""

from typing import Annotated

from fastapi import Depends, Query

from api.catalog.schemas import (
    CertificationCreate,
    CertificationOut,
    CertificationUpdate,
    DeletedOut,
    LinkCreate,
    LinkOut,
    LinkUpdate,
    Paging,
    PathId,
    certification_out,
    deleted,
    link_out,
)
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.contracts.wire import AerospacePage, IfMatch, expected_version, paged
from api.deps import SessionDep, require
from core.permissions import Perm
from services.catalog import certifications
from services.catalog.master_data import CertificationStatus, CertificationType
from services.identity import Principal

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/certifications", tags=["certifications"])


@router.get("", dependencies=[require(Perm.VIEW_CERTIFICATIONS)])
def list_certifications(session: SessionDep, paging: Annotated[Paging, Depends()],
                        certification_type: CertificationType | None = None, status: CertificationStatus | None = None,
                        search: SafeStr | None = Query(None, max_length=200)) -> AerospacePage[CertificationOut]:
    rows, total = certifications.list_certifications(session, paging.offset, paging.size, certification_type, status,
                                                     search)
    return AerospacePage[CertificationOut].model_validate(
        paged([certification_out(c) for c in rows], total, paging.page, paging.size))


@router.post("", status_code=201)
def create_certification(body: CertificationCreate, session: SessionDep,
                         user: Principal = require(Perm.MANAGE_CERTIFICATIONS)) -> CertificationOut:
    values = body.model_dump(exclude_unset=True)
    return certification_out(certifications.create_certification(session, user.id, values))


# --- links to materials (declared before `/{certification_id}`) -----------------------------------------

@router.post("/materials", status_code=201)
def link_material(body: LinkCreate, session: SessionDep,
                  user: Principal = require(Perm.MANAGE_CERTIFICATIONS)) -> LinkOut:
    return link_out(certifications.link_material(session, user.id, body.model_dump(exclude_unset=True)))


@router.put("/materials/{link_id}")
def update_link(link_id: PathId, body: LinkUpdate, session: SessionDep,
                user: Principal = require(Perm.MANAGE_CERTIFICATIONS)) -> LinkOut:
    return link_out(certifications.update_link(session, user.id, link_id, body.model_dump(exclude_unset=True)))


# --- one certification ----------------------------------------------------------------------------------

@router.get("/{certification_id}", dependencies=[require(Perm.VIEW_CERTIFICATIONS)])
def get_certification(certification_id: PathId, session: SessionDep) -> CertificationOut:
    return certification_out(certifications.get_certification(session, certification_id))


@router.put("/{certification_id}")
def update_certification(certification_id: PathId, body: CertificationUpdate, session: SessionDep,
                         if_match: IfMatch = None,
                         user: Principal = require(Perm.MANAGE_CERTIFICATIONS)) -> CertificationOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    certification = certifications.update_certification(session, user.id, certification_id, changes,
                                                         expected_version(body, if_match))
    return certification_out(certification)


@router.delete("/{certification_id}")
def delete_certification(certification_id: PathId, session: SessionDep,
                         user: Principal = require(Perm.MANAGE_CERTIFICATIONS)) -> DeletedOut:
    certifications.delete_certification(session, user.id, certification_id)
    return deleted("Certification", certification_id)
