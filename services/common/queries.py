"""Small query helpers shared by the read services."""

from typing import Any

from sqlalchemy import ColumnElement


def given(*pairs: tuple[Any, ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """The conditions whose filter value the caller gave (not None)."""
    return [condition for value, condition in pairs if value is not None]
