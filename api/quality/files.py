"""`GET /api/v1/files/{key}`: the bytes of an uploaded file (an NCR photo) from the object store, with its content
type, for callers who may see NCR reports. Where the store is S3 the reports link presigned URLs instead; this
route serves the same files through the API. Services: services/common/object_store.py, services/quality/photos.py."""

from typing import Annotated

from fastapi import Path, Response

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import SafeStr
from api.deps import SessionDep, require
from core.permissions import Perm
from services.common import object_store
from services.quality import photos

router = dialect_router(Dialect.ERP, prefix="/api/v1/files", tags=["erp: ncr reports"])
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


@router.get("/{key:path}", dependencies=[require(Perm.VIEW_NCR_REPORTS)], response_class=Response,
            responses={200: {"description": "The file's bytes", "content": {kind: {} for kind in IMAGE_TYPES}}})
def get_file(key: Annotated[SafeStr, Path(max_length=object_store.MAX_KEY_CHARS)], session: SessionDep) -> Response:
    """An NCR photo's bytes (404 for a key no photo has)."""
    content_type = photos.content_type_of(session, key)
    data, _ = object_store.get(key)
    return Response(content=data, media_type=content_type,
                    headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"})
