"""Wire types: Decimal inside, JSON numbers on the wire; UTC timestamps with `Z`."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer

from core.timeutil import iso_z


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)


Money = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]
UtcDateTime = Annotated[datetime, PlainSerializer(iso_z, return_type=str, when_used="json")]


class WireModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def page_count(total: int, page_size: int) -> int:
    return (total + page_size - 1) // page_size if page_size else 0


def paged(items: list[Any], total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "page_size": page_size,
            "total_pages": page_count(total, page_size)}


def wire(value: Any) -> Any:
    """A pydantic model or plain data as JSON-ready data: Decimal as a number, datetimes with `Z`."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
