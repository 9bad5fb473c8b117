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
    type: str | None = None  # only where the contract shows it


class UserRef(BaseModel):
    id: str
    username: str
    full_name: str | None = None
