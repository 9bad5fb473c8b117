"""Stock contract §1 Location Management (`/api/locations`): everyone with stock access lists and reads the
locations they may see (an OPERATOR only those assigned to them: 403 LOCATION_ACCESS_DENIED on another);
ADMIN creates, updates, deactivates (DELETE is a soft delete) and assigns users. Codes are stored upper case
and unique regardless of case. The dashboard (`/api/locations/{id}/dashboard`) lives in stock_dashboards."""

from typing import Annotated, Any, Literal

from fastapi import Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, ConfigDict, Field

from api.contracts.types import Count, SafeStr
from api.deps import SessionDep, require
from api.stock.common import PageDep, StockBody, stock_router, with_total
from api.stock.schemas.locations import (
    LocationDeactivatedOut,
    LocationDetailOut,
    LocationListOut,
    LocationOut,
    LocationUsersOut,
)
from core.permissions import Perm
from services.identity import Principal
from services.stock import locations
from services.stock.access import accessible_location
from services.stock.users import user_by_uid

router = stock_router(tags=["stock: locations"])
ADMIN = Perm.SYSTEM_SETTINGS  # location master data: admin-equivalents only
VIEW = Perm.STOCK_VIEW


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


LocationType = Annotated[Literal["KITCHEN", "STORE", "CENTRAL", "WAREHOUSE"], BeforeValidator(_upper)]
LocationCode = Annotated[str, BeforeValidator(_upper), Field(min_length=1, max_length=50)]


class LocationBody(StockBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: LocationCode
    name: str = Field(min_length=1, max_length=255)
    type: LocationType
    is_active: bool = True
    address: str | None = None
    description: str | None = None


class LocationChange(StockBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: LocationCode | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)
    type: LocationType | None = None
    is_active: bool | None = None
    address: str | None = None
    description: str | None = None
    version: Count | None = None


class Assignment(StockBody):
    """`{"userId": "<uid>"}`, or `{"user_id": …}`."""

    user_id: str | None = Field(default=None, alias="userId", min_length=1)
    user_id_snake: str | None = Field(default=None, alias="user_id", min_length=1)

    def target(self) -> str:
        chosen = self.user_id or self.user_id_snake
        if not chosen:
            raise RequestValidationError([{"type": "missing", "loc": ("body", "userId"), "msg": "Field required",
                                           "input": None}])
        return chosen


@router.get("/locations", response_model=LocationListOut)
def list_locations(session: SessionDep, page: PageDep, response: Response,
                   type: Annotated[LocationType | None, Query()] = None, active: bool | None = None,
                   viewer: Principal = require(VIEW)) -> Any:
    rows, total = locations.list_locations(session, viewer, locations.LocationFilters(type, active),
                                           page.offset, page.limit)
    with_total(response, total)
    return {"locations": [locations.location_view(row) for row in rows], "total": total}


@router.get("/locations/{location_id}", response_model=LocationDetailOut)
def get_location(location_id: SafeStr, session: SessionDep, viewer: Principal = require(VIEW)) -> Any:
    return locations.location_detail(session, accessible_location(session, viewer, location_id))


@router.post("/locations", response_model=LocationOut)
def create_location(body: LocationBody, session: SessionDep, actor: Principal = require(ADMIN)) -> Any:
    return locations.location_view(locations.create_location(session, actor.id, body.model_dump()))


@router.patch("/locations/{location_id}", response_model=LocationOut)
def update_location(location_id: SafeStr, body: LocationChange, session: SessionDep,
                    actor: Principal = require(ADMIN)) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    location = locations.locked_location(session, location_id)
    return locations.location_view(locations.update_location(session, actor.id, location, changes, body.version))


@router.delete("/locations/{location_id}", response_model=LocationDeactivatedOut)
def delete_location(location_id: SafeStr, session: SessionDep, actor: Principal = require(ADMIN)) -> Any:
    location = locations.deactivate_location(session, actor.id, locations.locked_location(session, location_id))
    return {"success": True, "message": "Location deactivated", "location": locations.location_view(location)}


@router.post("/locations/{location_id}/users", response_model=LocationUsersOut)
def assign_user(location_id: SafeStr, body: Assignment, session: SessionDep,
                actor: Principal = require(Perm.MANAGE_USERS)) -> Any:
    location = locations.location_by_uid(session, location_id)
    locations.assign_user(session, actor.id, location, user_by_uid(session, body.target()))
    return {"success": True, "location": locations.location_detail(session, location)}


@router.delete("/locations/{location_id}/users/{user_id}", response_model=LocationUsersOut)
def unassign_user(location_id: SafeStr, user_id: SafeStr, session: SessionDep,
                  actor: Principal = require(Perm.MANAGE_USERS)) -> Any:
    location = locations.location_by_uid(session, location_id)
    locations.unassign_user(session, actor.id, location, user_by_uid(session, user_id))
    return {"success": True, "location": locations.location_detail(session, location)}
