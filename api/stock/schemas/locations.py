"""Bodies of locations (multi-location-stock.md §1; services/stock/locations.py builds them): ids are `uid`s,
types upper case, times UTC with `Z`."""

from pydantic import BaseModel

from api.stock.schemas.documents import IsoTime
from api.stock.schemas.results import SuccessMessageOut, SuccessOut


class LocationOut(BaseModel):
    id: str
    code: str
    name: str
    type: str
    is_active: bool
    address: str | None
    description: str | None
    version: int
    created_at: IsoTime
    updated_at: IsoTime


class LocationListOut(BaseModel):
    locations: list[LocationOut]
    total: int


class LocationUserOut(BaseModel):
    """A user assigned to the location."""

    id: str
    username: str
    full_name: str | None
    email: str
    role: str
    is_active: bool


class LocationDetailOut(LocationOut):
    """The location with the users assigned to it (by username)."""

    users: list[LocationUserOut]


class LocationDeactivatedOut(SuccessMessageOut):
    location: LocationOut


class LocationUsersOut(SuccessOut):
    """A user assigned to or removed from the location: the location as it now is."""

    location: LocationDetailOut
