"""`GET /api/v1/files/{key}`: the bytes of a stored file from the object store, with its content type, for callers
who may see what it belongs to: an NCR photo (`ncr/...`, permission to see NCR reports), or a file kind an area above
registered by the first segment of its keys (`register_file_kind`: the recall reports' PDFs, `recall-reports/...`,
for those who may see traceability). Where the store is S3 the answers link presigned URLs instead; this route
serves the same files through the API. Services: services/common/object_store.py, services/quality/photos.py."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Response
from sqlalchemy.orm import Session

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services.common import object_store
from services.quality import photos

router = dialect_router(Dialect.ERP, prefix="/api/v1/files", tags=["erp: ncr reports"])
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# What any registered kind serves too (the OpenAPI document is made before the areas above register).
FILE_TYPES = (*IMAGE_TYPES, "application/pdf")


@dataclass(frozen=True)
class FileKind:
    """Who may fetch a kind of file, and its content type for a key (ObjectMissing, a 404, when no record of the
    kind names the key)."""

    permission: Perm
    content_type_of: Callable[[Session, str], str]


NCR_PHOTOS = FileKind(Perm.VIEW_NCR_REPORTS, photos.content_type_of)
KINDS: dict[str, FileKind] = {}  # by the first segment of their keys; anything else is an NCR photo's key


def register_file_kind(first_segment: str, kind: FileKind) -> None:
    """Serve the files whose keys start with `<first_segment>/` to holders of `kind.permission`."""
    KINDS[first_segment] = kind


@router.get("/{key:path}", response_class=Response,
            responses={200: {"description": "The file's bytes", "content": {kind: {} for kind in FILE_TYPES}}})
def get_file(key: Annotated[SafeStr, Path(max_length=object_store.MAX_KEY_CHARS)], session: SessionDep,
             user: CurrentUser) -> Response:
    """A stored file's bytes (403 without the permission its kind needs, 404 for a key no record has)."""
    kind = KINDS.get(key.partition("/")[0], NCR_PHOTOS)
    if not has_permission(user.role, kind.permission, user.is_superuser):
        raise access_denied(f"Requires permission {kind.permission.value}")
    content_type = kind.content_type_of(session, key)
    data, _ = object_store.get(key)
    return Response(content=data, media_type=content_type,
                    headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"})
