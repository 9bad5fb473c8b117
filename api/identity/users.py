"""User management: aerospace `/api/v1/users` and battery-rul `/api/v1/auth/users` (admin only)."""

from fastapi import Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import Count, DbId, PageNumber, SafeStr
from api.contracts.wire import AerospacePage, paged
from api.deps import CurrentUser, SessionDep, require
from api.identity.schemas import MessageOut, UserCreate, UserListOut, UserOut, UserUpdate, user_out
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services import identity
from services.identity import Principal

router = dialect_router(Dialect.AEROSPACE, tags=["users"])


@router.get("/api/v1/users", dependencies=[require(Perm.VIEW_USERS)])
def list_users(session: SessionDep, page: PageNumber = 1,
               page_size: int = Query(20, ge=1, le=100)) -> AerospacePage[UserOut]:
    users, total = identity.list_users(session, (page - 1) * page_size, page_size)
    return AerospacePage[UserOut].model_validate(paged([user_out(u) for u in users], total, page, page_size))


@router.get("/api/v1/users/{user_pk}")
def get_user(user_pk: DbId, session: SessionDep, caller: CurrentUser) -> UserOut:
    if caller.id != user_pk and not has_permission(caller.role, Perm.VIEW_USERS, caller.is_superuser):
        raise access_denied("Only the user or a user manager may read this user")
    return user_out(identity.get_user(session, user_pk))


@router.put("/api/v1/users/{user_pk}")
def update_user(user_pk: DbId, body: UserUpdate, session: SessionDep,
                actor: Principal = require(Perm.MANAGE_USERS)) -> UserOut:
    user = identity.get_user(session, user_pk)
    return user_out(identity.update_user(session, actor.id, user, body.model_dump(exclude_unset=True)))


@router.delete("/api/v1/users/{user_pk}")
def delete_user(user_pk: DbId, session: SessionDep, actor: Principal = require(Perm.MANAGE_USERS)) -> UserOut:
    return user_out(identity.deactivate_user(session, actor.id, identity.get_user(session, user_pk)))


@router.get("/api/v1/auth/users", dependencies=[require(Perm.MANAGE_USERS)])
def list_users_rul(session: SessionDep, skip: Count = 0, limit: int = Query(100, ge=1, le=1000)) -> UserListOut:
    users, total = identity.list_users(session, skip, limit)
    return UserListOut(users=[user_out(u) for u in users], total=total)


@router.post("/api/v1/auth/users", status_code=201)
def create_user_rul(body: UserCreate, session: SessionDep,
                    actor: Principal = require(Perm.MANAGE_USERS)) -> UserOut:
    return user_out(identity.create_user(session, actor.id, body.model_dump()))


@router.patch("/api/v1/auth/users/{user_id}")
def update_user_rul(user_id: SafeStr, body: UserUpdate, session: SessionDep,
                    actor: Principal = require(Perm.MANAGE_USERS)) -> UserOut:
    user = identity.get_user_by_handle(session, user_id)
    return user_out(identity.update_user(session, actor.id, user, body.model_dump(exclude_unset=True)))


@router.delete("/api/v1/auth/users/{user_id}")
def delete_user_rul(user_id: SafeStr, session: SessionDep,
                    actor: Principal = require(Perm.MANAGE_USERS)) -> MessageOut:
    identity.deactivate_user(session, actor.id, identity.get_user_by_handle(session, user_id))
    return MessageOut(message=f"User {user_id} deleted successfully")
