"""What every router of the stock contract (`/api`, multi-location-stock.md) shares: its dialect,
`?page=&limit=` pagination with `X-Total-Count`, dates that may come as ISO dates or full ISO datetimes,
and numbers rendered as JSON numbers."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from fastapi.routing import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import PageNumber, PageSize, SafeBody

MAX_LIMIT = 200


def stock_router(**kwargs: Any) -> APIRouter:
    return dialect_router(Dialect.STOCK, prefix="/api", **kwargs)


class Page(BaseModel):
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _page(page: Annotated[PageNumber, Query()] = 1, limit: Annotated[PageSize, Query()] = 50) -> Page:
    return Page(page=page, limit=min(limit, MAX_LIMIT))


PageDep = Annotated[Page, Depends(_page)]


def with_total(response: Response, total: int) -> None:
    response.headers["X-Total-Count"] = str(total)


def _to_date(value: Any) -> Any:
    """`2025-12-25` or a browser's `2025-12-25T00:00:00.000Z`: the calendar date as written."""
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    return value


FlexDate = Annotated[date, BeforeValidator(_to_date)]


def number(value: Decimal | None) -> float | None:
    """Decimal → JSON number (the contract shows numbers, never strings)."""
    return None if value is None else float(value)


class StockBody(SafeBody):
    """A request body of the stock contract: unknown fields are ignored, as the Nitro server does."""

    model_config = ConfigDict(extra="ignore")
