"""`/api/v1/inventory`: aerospace stock records and their transactions (rules: services/procurement/inventory.py).

Reading needs view_inventory or manage_inventory; writing needs manage_inventory (the contract's
"Store+": Director and Store), and a transaction also the permission of its kind: receipt and return
receive_materials, issue, scrap and transfer issue_materials, adjustment stocktake, quarantine and
release manage_inventory.
"""

from typing import Any

from fastapi import Depends, Header, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, PageNumber, SafeStr
from api.contracts.wire import IfMatch, expected_version, paged
from api.deps import CurrentUser, SessionDep
from api.procurement.schemas.inventory import (
    InventoryCreate,
    InventoryOut,
    InventoryPage,
    InventoryUpdate,
    TransactionAppliedOut,
    TransactionCreate,
    TransactionPage,
    TransferSplitOut,
    applied_out,
    inventory_out,
    transaction_out,
)
from core.errors import AppError, access_denied
from core.permissions import Perm, has_permission
from services.identity import Principal
from services.procurement import inventory, inventory_movements
from services.procurement.inventory import InventoryStatus, TransactionType

router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/inventory", tags=["inventory"])

TYPE_PERMISSION: dict[TransactionType, Perm] = {
    TransactionType.RECEIPT: Perm.RECEIVE_MATERIALS,
    TransactionType.RETURN: Perm.RECEIVE_MATERIALS,
    TransactionType.ISSUE: Perm.ISSUE_MATERIALS,
    TransactionType.SCRAP: Perm.ISSUE_MATERIALS,
    TransactionType.TRANSFER: Perm.ISSUE_MATERIALS,
    TransactionType.ADJUSTMENT: Perm.STOCKTAKE,
    TransactionType.QUARANTINE: Perm.MANAGE_INVENTORY,
    TransactionType.RELEASE: Perm.MANAGE_INVENTORY,
}
IDEMPOTENCY_PREFIX = "idempotency-key:"


def _holds(user: Principal, perm: Perm) -> bool:
    return has_permission(user.role, perm, user.is_superuser)


def require_any(*perms: Perm) -> Any:
    """403 unless the caller holds one of `perms`."""

    def check(user: CurrentUser) -> Principal:
        if not any(_holds(user, p) for p in perms):
            raise access_denied(f"Requires one of the permissions {', '.join(p.value for p in perms)}")
        return user

    return Depends(check)


def require_all(*perms: Perm) -> Any:
    """403 unless the caller holds every one of `perms`."""

    def check(user: CurrentUser) -> Principal:
        for perm in perms:
            if not _holds(user, perm):
                raise access_denied(f"Requires permission {perm.value}")
        return user

    return Depends(check)


VIEW = require_any(Perm.VIEW_INVENTORY, Perm.MANAGE_INVENTORY)


@router.get("", dependencies=[VIEW], response_model=InventoryPage)
def list_inventory(session: SessionDep, page: PageNumber = 1, page_size: int = Query(20, ge=1, le=100),
                   material_id: DbId | None = None, status: InventoryStatus | None = None,
                   location: SafeStr | None = None, lot_number: SafeStr | None = None,
                   expired_only: bool = False) -> Any:
    rows, total = inventory.list_inventory(session, (page - 1) * page_size, page_size, material_id=material_id,
                                           status=status, location=location, lot_number=lot_number,
                                           expired_only=expired_only)
    return paged([inventory_out(r) for r in rows], total, page, page_size)


@router.post("", status_code=201, response_model=InventoryOut)
def receive(body: InventoryCreate, session: SessionDep,
            idempotency_key: SafeStr | None = Header(default=None, alias="Idempotency-Key", max_length=150),
            user: Principal = require_all(Perm.MANAGE_INVENTORY, Perm.RECEIVE_MATERIALS)) -> Any:
    """Receive material: a new record and its `receipt` transaction. The same `Idempotency-Key` answers the
    record the first call created."""
    values = body.model_dump()
    source_key = f"{IDEMPOTENCY_PREFIX}{user.id}:{idempotency_key}" if idempotency_key else None
    record = inventory.receive(session, actor_id=user.id, source_key=source_key, **values)
    return inventory_out(record)


@router.get("/{inventory_id}", dependencies=[VIEW], response_model=InventoryOut)
def get_inventory(inventory_id: DbId, session: SessionDep) -> Any:
    return inventory_out(inventory.get_inventory(session, inventory_id))


@router.put("/{inventory_id}", response_model=InventoryOut)
def update_inventory(inventory_id: DbId, body: InventoryUpdate, session: SessionDep, if_match: IfMatch = None,
                     user: Principal = require_all(Perm.MANAGE_INVENTORY)) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    record = inventory_movements.update_inventory(session, inventory_id, changes, user.id,
                                                  expected_version(body, if_match))
    return inventory_out(record)


@router.get("/{inventory_id}/transactions", dependencies=[VIEW], response_model=TransactionPage)
def list_transactions(inventory_id: DbId, session: SessionDep, page: PageNumber = 1,
                      page_size: int = Query(50, ge=1, le=500)) -> Any:
    rows, total = inventory.list_transactions(session, inventory_id, (page - 1) * page_size, page_size)
    return paged([transaction_out(r) for r in rows], total, page, page_size)


@router.post("/{inventory_id}/transactions", status_code=201,
             response_model=TransactionAppliedOut | TransferSplitOut)
def create_transaction(inventory_id: DbId, body: TransactionCreate, session: SessionDep, if_match: IfMatch = None,
                       user: Principal = require_all(Perm.MANAGE_INVENTORY)) -> Any:
    """Apply one movement; answers the ledger row with the record after it (`inventory`) and, when a partial
    transfer split the record, the new one (`new_inventory`, absent otherwise)."""
    needed = TYPE_PERMISSION[body.transaction_type]
    if not _holds(user, needed):
        raise access_denied(f"A {body.transaction_type} requires permission {needed.value}")
    if body.inventory_id is not None and body.inventory_id != inventory_id:
        raise AppError("INVENTORY_ID_MISMATCH", 400,
                       f"Body inventory_id {body.inventory_id} does not match the path's {inventory_id}",
                       {"field": "inventory_id"})
    applied = inventory_movements.apply_transaction(session, inventory_id, body.movement(), user.id,
                                          expected_version(body, if_match))
    return applied_out(applied)
