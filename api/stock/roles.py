"""Who may change the stock contract's master data ("Role Permissions"). `StockAdmin` is the contract's
"ADMIN only": a permission no role but the admin-equivalents holds (`system_settings`, as the locations
router uses). `StockSupervisor` is a role that works across all locations (SUPERVISOR, ADMIN). Both are
dependencies, so a refused caller gets 403 INSUFFICIENT_PERMISSIONS before the body is even validated."""

from typing import Annotated

from fastapi import Depends

from api.deps import CurrentUser
from core.errors import access_denied
from core.permissions import Perm, has_permission
from services.identity import Principal

STOCK_ADMIN = Perm.SYSTEM_SETTINGS
STOCK_SUPERVISION = Perm.STOCK_ALL_LOCATIONS


def stock_admin(user: CurrentUser) -> Principal:
    if not has_permission(user.role, STOCK_ADMIN, user.is_superuser):
        raise access_denied("Requires the ADMIN role")
    return user


def stock_supervisor(user: CurrentUser) -> Principal:
    if not has_permission(user.role, STOCK_SUPERVISION, user.is_superuser):
        raise access_denied("Requires the SUPERVISOR or ADMIN role")
    return user


StockAdmin = Annotated[Principal, Depends(stock_admin)]
StockSupervisor = Annotated[Principal, Depends(stock_supervisor)]
