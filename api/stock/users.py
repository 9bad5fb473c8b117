"""Stock contract §15 Users Management (`/api/users`): ADMIN lists, updates and deactivates users; a user
may read themself. Ids are user uids; roles render upper case. Deleting is a soft delete (users are named
by documents and the audit trail): the user becomes inactive and their sessions are revoked."""

from typing import Any

from fastapi import Response
from pydantic import ConfigDict, EmailStr, Field

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import PageDep, StockBody, stock_router, with_total
from api.stock.schemas.users import StockRole, StockUserListOut, StockUserOut, UserMessageOut
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services import identity
from services.identity import Principal
from services.stock import users

router = stock_router(tags=["stock: users"])
ADMIN = Perm.MANAGE_USERS


class UserChange(StockBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    full_name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    role: StockRole | None = None
    is_active: bool | None = None
    default_location_id: str | None = None


@router.get("/users", response_model=StockUserListOut)
def list_users(session: SessionDep, page: PageDep, response: Response, role: SafeStr | None = None,
               is_active: bool | None = None, search: SafeStr | None = None, _: Principal = require(ADMIN)) -> Any:
    found, total = users.list_users(session, users.UserFilters(role, is_active, search), page.offset, page.limit)
    with_total(response, total)
    return {"users": users.stock_users(session, found), "total": total}


@router.get("/users/{user_id}", response_model=StockUserOut)
def get_user(user_id: SafeStr, session: SessionDep, caller: CurrentUser) -> Any:
    user = users.user_by_uid(session, user_id)
    if user.id != caller.id and not has_permission(caller.role, ADMIN, caller.is_superuser):
        raise access_denied("Only an administrator or the user may read this user")
    return users.stock_user(session, user)


@router.patch("/users/{user_id}", response_model=StockUserOut)
def update_user(user_id: SafeStr, body: UserChange, session: SessionDep, actor: Principal = require(ADMIN)) -> Any:
    user = users.user_by_uid(session, user_id)
    return users.stock_user(session, users.update_user(session, actor.id, user, body.model_dump(exclude_unset=True)))


@router.delete("/users/{user_id}", response_model=UserMessageOut)
def delete_user(user_id: SafeStr, session: SessionDep, actor: Principal = require(ADMIN)) -> Any:
    user = identity.deactivate_user(session, actor.id, users.user_by_uid(session, user_id))
    return {"success": True, "message": "User deactivated", "user": users.stock_user(session, user)}
