"""Small references the stock contract embeds in its bodies: `{"id","code","name"}` of an item or a
location, `{"id","username","full_name"}` of a user. Ids are the rows' `uid`."""

from typing import Any

from models.catalog import Material
from models.identity import User
from models.stock import Location


def item_ref(item: Material) -> dict[str, Any]:
    return {"id": str(item.uid), "code": item.code, "name": item.name}


def location_ref(location: Location, with_type: bool = False) -> dict[str, Any]:
    ref = {"id": str(location.uid), "code": location.code, "name": location.name}
    return {**ref, "type": location.type} if with_type else ref


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": str(user.uid), "username": user.username, "full_name": user.full_name}
