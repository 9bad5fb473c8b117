"""Wire types: Decimal inside, JSON numbers on the wire; UTC timestamps with `Z`; the aerospace dialect's body
base and its optimistic-lock version (`version` in the body or `If-Match`)."""

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from api.contracts.types import INT4_MAX, SafeBody
from core.errors import AppError
from core.timeutil import iso_z


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)


Money = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]
UtcDateTime = Annotated[datetime, PlainSerializer(iso_z, return_type=str, when_used="json")]


class WireModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class AerospacePage(BaseModel, Generic[T]):
    """A page of the aerospace dialect (`paged`)."""

    items: list[T]
    total: int
    page: int
    page_size: int
    total_pages: int


def page_count(total: int, page_size: int) -> int:
    return (total + page_size - 1) // page_size if page_size else 0


def paged(items: list[Any], total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "page_size": page_size,
            "total_pages": page_count(total, page_size)}



def _wire_default(value: Any) -> Any:
    """What json.dumps cannot render itself: pydantic models, Decimal as a number, datetimes with `Z`."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class WireResponse(JSONResponse):
    """A JSON response rendered in one pass (no jsonable_encoder walk), numbers and times as contracts show."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_wire_default, ensure_ascii=False, separators=(",", ":")).encode()


class Body(SafeBody):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class VersionedBody(Body):
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)


def expected_version(body: VersionedBody | None, if_match: str | None) -> int | None:
    """The version the caller last saw: JSON `version` or an `If-Match` header (`"3"`, `W/"3"`, `3`)."""
    if body is not None and body.version is not None:
        return body.version
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= INT4_MAX):
        raise AppError("VALIDATION_ERROR", 422, "If-Match must carry the entity version", {"If-Match": if_match})
    return int(raw)


IfMatch = Annotated[str | None, Header(alias="If-Match")]
