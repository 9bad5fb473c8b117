"""Bodies of users in the stock contract's terms (multi-location-stock.md §Authentication, §15): roles are the
stock roles, ids are user uids, times UTC with `Z` (services/stock/sessions.py and users.py build them)."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel

from api.stock.schemas.documents import IsoTime
from api.stock.schemas.refs import TypedLocationRef
from api.stock.schemas.results import SuccessMessageOut
from services.stock import users


def _stock_role(value: str) -> str:
    if value.strip().upper() not in users.STOCK_ROLES:
        raise ValueError(f"Role must be one of {', '.join(users.STOCK_ROLES)}")
    return value.strip().upper()


StockRole = Annotated[str, AfterValidator(_stock_role)]


class SessionUserOut(BaseModel):
    """`UserSession.user`: who is signed in, their default location and the uids of the locations they may
    work at (an OPERATOR the active ones assigned to them, SUPERVISOR and ADMIN every active one)."""

    id: str
    username: str
    email: str
    full_name: str | None
    role: str
    default_location_id: str | None
    default_location: TypedLocationRef | None
    locations: list[str]


class UserSessionOut(BaseModel):
    """`UserSession`: the user and when this session signed in."""

    user: SessionUserOut
    loggedInAt: IsoTime  # noqa: N815 - the contract's spelling


class StockUserOut(SessionUserOut):
    """A user as `/api/users` renders them: the session fields plus the account's state."""

    is_active: bool
    last_login: IsoTime | None
    created_at: IsoTime
    updated_at: IsoTime


class StockUserListOut(BaseModel):
    users: list[StockUserOut]
    total: int


class SessionUserMessageOut(SuccessMessageOut):
    """A sign-in or a change of one's own profile, with the session's view of the user."""

    user: SessionUserOut


class UserMessageOut(SuccessMessageOut):
    """A user registered or deactivated."""

    user: StockUserOut
