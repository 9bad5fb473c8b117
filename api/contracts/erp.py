"""What every router of the ERP contract (manufacturing-erp.md) shares: `page`/`per_page` paging (default 50, at
most 100) and its lists `{"<plural>": [...], "total", "page", "per_page"}`, and the contract's validation failure
for a refused field (`{"error": "Validation failed", "details": [{"field", "message"}]}`, 400)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from api.contracts.types import PageNumber
from core.errors import AppError

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
FIELD_ERRORS = frozenset({"DUPLICATE_CODE", "VALIDATION_ERROR"})


class ErpPaging:
    """`?page=&per_page=`: a larger `per_page` is the contract's validation failure, never a silent cap."""

    def __init__(self, page: Annotated[PageNumber, Query()] = 1,
                 per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE) -> None:
        self.page, self.per_page = page, per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def field_error(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    """The contract's validation failure for one field (`bom.0.material_id`: a path into the body)."""
    return RequestValidationError([{"type": kind, "loc": ("body", *field.split(".")), "msg": message}])


@contextmanager
def field_errors(applies: bool = True) -> Iterator[None]:
    """A refusal that names a field of the body (a duplicate code, an unknown id in a list) answers as the
    contract's validation failure with that field (`applies=False`: a request answering in another dialect)."""
    try:
        yield
    except AppError as err:
        if applies and err.code in FIELD_ERRORS and isinstance(err.details, dict) and "field" in err.details:
            raise field_error(str(err.details["field"]), err.message) from err
        raise
