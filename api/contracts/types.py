"""The edge's constrained types (issue 10 §1): bad input never reaches the database or a workflow.

Every id, page and number a request carries fits the column it meets (every integer column is PostgreSQL's
`integer`, int4: SQLAlchemy binds a Python int as `::INTEGER`, so 2147483648 would fail inside the query),
and no string carries what PostgreSQL cannot store (NUL, "\\x00") or UTF-8 cannot encode (an unpaired
surrogate such as "\\ud800", which JSON's `\\ud800` escape produces). A refusal is a request-validation
error, so each contract renders it in its own validation shape (api/contracts/dialects.py).

- Path, query and header parameters use these types (`po_id: DbId`, `page: PageNumber = 1`,
  `search: SafeStr | None = Query(None, max_length=200)`).
- Request bodies derive from `SafeBody`: its validator refuses an unsafe string anywhere in a field (nested
  lists and dicts, keys included) and an integer outside int4, so a field declared `str` or `int` is safe
  without naming a type; ids still say `DbId`, so the OpenAPI shows their range."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
MAX_PAGE = 10_000_000  # far beyond any table here; keeps OFFSET = (page - 1) × size inside bigint

NUL_MESSAGE = "String must not contain NUL (\\u0000) characters"
SURROGATE_MESSAGE = "String must be valid Unicode (no unpaired surrogates)"
INT4_MESSAGE = f"Number must be between {INT4_MIN} and {INT4_MAX}"


def unsafe_text(value: str) -> str | None:
    """Why PostgreSQL could not store `value` as text, or None when it can."""
    if "\x00" in value:
        return NUL_MESSAGE
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
    return None


def check_text(value: str) -> str:
    reason = unsafe_text(value)
    if reason is not None:
        raise PydanticCustomError("string_unsafe", reason)
    return value


def _check_value(value: Any) -> None:
    """Every string (and dict key) and integer anywhere inside a field's value."""
    kind = type(value)
    if kind is str:
        check_text(value)
    elif kind is int:
        if not INT4_MIN <= value <= INT4_MAX:
            raise PydanticCustomError("int4_range", INT4_MESSAGE)
    elif kind is list or kind is tuple or kind is set or kind is frozenset:
        for item in value:
            _check_value(item)
    elif kind is dict:
        for key, item in value.items():
            _check_value(key)
            _check_value(item)
    elif isinstance(value, str):  # a StrEnum member: its value was checked against the enum already
        return


SafeStr = Annotated[str, AfterValidator(check_text)]
"""A string PostgreSQL can store: no NUL, no unpaired surrogate."""

DbId = Annotated[int, Field(ge=1, le=INT4_MAX)]
"""A row id (an `integer` primary key): 1 to 2147483647."""

DbInt = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]
"""Any number stored in or compared with an `integer` column."""

Count = Annotated[int, Field(ge=0, le=INT4_MAX)]
"""A non-negative `integer` (a count, an offset, a version)."""

PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE)]
"""A 1-based page number."""

PageSize = Annotated[int, Field(ge=1, le=INT4_MAX)]
"""A page size or limit whose route caps it itself (`min(limit, MAX)`); routes that refuse more say `le=`."""


class SafeBody(BaseModel):
    """A request body: no field anywhere in it carries NUL, an unpaired surrogate or an integer outside int4
    (every integer column is int4). Body base classes of every contract derive from it."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check_value(value)
        return value
