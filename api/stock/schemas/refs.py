"""The small references the stock contract embeds in its bodies (services/stock/views.py builds them): ids are the
rows' `uid`s."""

from pydantic import BaseModel


class ItemRef(BaseModel):
    id: str
    code: str
    name: str


class LocationRef(BaseModel):
    id: str
    code: str
    name: str


class TypedLocationRef(LocationRef):
    """Where the contract shows the location's type too."""

    type: str


class UserRef(BaseModel):
    id: str
    username: str
    full_name: str | None = None
