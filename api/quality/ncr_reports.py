"""`/api/v1/ncr-reports` (manufacturing-erp.md §6.3): raise an NCR report with photos (multipart), list them with
filters, read one with its history. Its transitions go through `POST /api/v1/workflows/ncr_report/{id}/transition/
{code}` (api/quality/ncr_report_calls.py). Services: services/quality/ncr_reports.py, ncr_report_reads.py,
photos.py."""

from typing import Annotated, Any

from fastapi import Depends, File, Form, Query, Request, UploadFile
from pydantic import BeforeValidator
from sqlalchemy.orm import Session

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, TemporalDep, in_transaction, require
from api.quality.ncr_report_calls import start_quietly
from api.quality.schemas import NcrReportDetailOut, NcrReportListOut, NcrReportOut
from core.permissions import Perm
from core.settings import get_settings
from dto.quality import Severity
from services.identity import Principal
from services.quality import ncr_report_reads, ncr_reports
from services.quality import photos as ncr_photos

router = dialect_router(Dialect.ERP, prefix="/api/v1/ncr-reports", tags=["erp: ncr reports"])


def _blank_as_none(value: Any) -> Any:
    return None if value == "" else value


OptionalId = Annotated[DbId | None, BeforeValidator(_blank_as_none)]  # a form's empty field is no id


@router.post("", status_code=201)
async def create_ncr_report(
        request: Request, client: TemporalDep, ncr_type_id: Annotated[DbId, Form()],
        severity: Annotated[Severity, Form()], description: Annotated[SafeStr, Form(min_length=1, max_length=4000)],
        work_order_id: Annotated[OptionalId, Form()] = None,
        photos: Annotated[list[UploadFile] | None, File(alias="photos[]", description="one part per photo")] = None,
        user: Principal = require(Perm.RAISE_NCR_REPORTS)) -> NcrReportOut:
    """An NCR report in `submitted`, assigned to the least loaded quality manager, with its photos (JPEG, PNG or
    WebP by their bytes); then its lifecycle starts. A refused photo stores nothing."""
    sent = [photo for photo in photos or [] if _sent(photo)]
    checked = ncr_photos.checked([await _upload(photo, index) for index, photo in enumerate(sent)])
    with ncr_photos.removed_on_failure() as stored, field_errors():
        ncr_id = await in_transaction(request, _create, user.id, ncr_type_id, severity.value, description,
                                      work_order_id, checked, stored)
    await start_quietly(client, ncr_id)
    return NcrReportOut.model_validate(await in_transaction(request, ncr_report_reads.report_view, ncr_id))


def _create(session: Session, actor_id: int, ncr_type_id: int, severity: str, description: str,
            work_order_id: int | None, photos: list[ncr_photos.Photo], stored: list[str]) -> int:
    return ncr_reports.create_report(session, actor_id=actor_id, ncr_type_id=ncr_type_id, severity=severity,
                                     description=description, work_order_id=work_order_id, photos=photos,
                                     stored=stored)


def _sent(photo: UploadFile) -> bool:
    """A form's file field left empty arrives as a part without a name or bytes: no photo."""
    return bool(photo.filename) or bool(photo.size)


async def _upload(photo: UploadFile, index: int) -> ncr_photos.Upload:
    """The part's bytes, read no further than one byte past the limit (enough to refuse it)."""
    data = await photo.read(get_settings().erp_ncr_photo_max_bytes + 1)
    return ncr_photos.Upload(name=photo.filename or f"photo {index + 1}", data=data)


@router.get("", dependencies=[require(Perm.VIEW_NCR_REPORTS)])
def list_ncr_reports(session: SessionDep, paging: Annotated[ErpPaging, Depends()],
                     status: SafeStr | None = Query(None, max_length=50), severity: Severity | None = None,
                     work_order_id: DbId | None = None, assignee_id: DbId | None = None) -> NcrReportListOut:
    rows, total = ncr_report_reads.list_reports(session, paging.offset, paging.per_page, status=status,
                                                severity=severity.value if severity else None,
                                                work_order_id=work_order_id, assignee_id=assignee_id)
    return NcrReportListOut.model_validate({"ncr_reports": rows, "total": total, "page": paging.page,
                                            "per_page": paging.per_page})


@router.post("/{ncr_id}/photos", status_code=201)
async def add_ncr_photos(
        ncr_id: DbId, request: Request,
        photos: Annotated[list[UploadFile], File(alias="photos[]", description="one part per photo")],
        user: Principal = require(Perm.RAISE_NCR_REPORTS)) -> NcrReportOut:
    """More photos on an open NCR report (one a failed inspection raised has none); the same checks as at its
    creation, the per-NCR limit counting the photos it has."""
    sent = [photo for photo in photos if _sent(photo)]
    checked = ncr_photos.checked([await _upload(photo, index) for index, photo in enumerate(sent)])
    with ncr_photos.removed_on_failure() as stored:
        await in_transaction(request, ncr_reports.add_photos, ncr_id, user.id, checked, stored)
    return NcrReportOut.model_validate(await in_transaction(request, ncr_report_reads.report_view, ncr_id))


@router.get("/{ncr_id}", dependencies=[require(Perm.VIEW_NCR_REPORTS)])
def get_ncr_report(ncr_id: DbId, session: SessionDep) -> NcrReportDetailOut:
    return NcrReportDetailOut.model_validate(ncr_report_reads.report_detail(session, ncr_id))
