"""Photos of an NCR report: what a photo is (JPEG, PNG or WebP, recognised from its bytes, never from its name or
the type the client declared), how big and how many (ERP_NCR_PHOTO_MAX_BYTES each, ERP_NCR_MAX_PHOTOS per NCR),
and storing them so that a refused or failed upload leaves nothing behind: every file is checked before any is
stored, a store failing midway removes what it stored, and a transaction that fails removes the stored objects
(`removed_on_failure`)."""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.settings import get_settings
from models.quality import NcrPhoto
from services.common import object_store

log = logging.getLogger("services.quality.photos")
MAX_NAME_CHARS = 255
JPEG, PNG, WEBP = ("image/jpeg", "jpg"), ("image/png", "png"), ("image/webp", "webp")


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: its name (only ever echoed back) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Photo:
    name: str
    data: bytes
    content_type: str
    extension: str


def recognise(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or WebP image, from its signature; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def invalid_photo(name: str, problem: str) -> AppError:
    return AppError("INVALID_PHOTO", 400, "Invalid photo", f"{name}: {problem}")


def checked(uploads: Sequence[Upload], already: int = 0) -> list[Photo]:
    """Every upload as a photo, or the refusal of the first that is not one (nothing is stored before this)."""
    settings = get_settings()
    limit, most = settings.erp_ncr_photo_max_bytes, settings.erp_ncr_max_photos
    if already + len(uploads) > most:
        extra = uploads[max(most - already, 0)]
        raise invalid_photo(extra.name, f"at most {most} photos per NCR")
    return [_photo(upload, limit) for upload in uploads]


def _photo(upload: Upload, limit: int) -> Photo:
    if not upload.data:
        raise invalid_photo(upload.name, "the file is empty")
    if len(upload.data) > limit:
        raise invalid_photo(upload.name, f"larger than {limit} bytes")
    kind = recognise(upload.data)
    if kind is None:
        raise invalid_photo(upload.name, "not a JPEG, PNG or WebP image")
    return Photo(name=upload.name, data=upload.data, content_type=kind[0], extension=kind[1])


@contextmanager
def removed_on_failure() -> Iterator[list[str]]:
    """The keys stored inside the block (append them as they are stored) are removed if the block fails, e.g.
    when the transaction recording them does not commit."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        _remove(stored)
        raise


def store(session: Session, ncr_id: int, photos: Sequence[Photo], stored: list[str]) -> list[NcrPhoto]:
    """Put each photo in the object store under a fresh key (`ncr/<id>/<uuid>.<ext>`) and record it; a put failing
    midway removes the ones this call stored."""
    rows: list[NcrPhoto] = []
    mine: list[str] = []
    try:
        for photo in photos:
            key = object_store.new_key(f"ncr/{ncr_id}", photo.extension)
            object_store.put(key, photo.data, photo.content_type)
            mine.append(key)
            stored.append(key)
            rows.append(NcrPhoto(ncr_id=ncr_id, object_key=key, content_type=photo.content_type,
                                 size_bytes=len(photo.data), original_name=photo.name[:MAX_NAME_CHARS] or None))
    except BaseException:
        _remove(mine)
        del stored[len(stored) - len(mine):]
        raise
    session.add_all(rows)
    session.flush()
    return rows


def _remove(keys: list[str]) -> None:
    for key in reversed(keys):
        try:
            object_store.delete(key)
        except Exception:  # noqa: BLE001 - best effort: the failure being handled matters more
            log.exception("could not remove the stored object %s", key)


def content_type_of(session: Session, key: str) -> str:
    """The recorded content type of an NCR photo's object; 404 for a key no photo has."""
    found = session.scalar(select(NcrPhoto.content_type).where(NcrPhoto.object_key == key))
    if found is None:
        raise object_store.ObjectMissing(key)
    return found
