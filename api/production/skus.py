"""`/api/v1/skus`: SKU blueprints (battery-pack console)."""

from typing import Annotated, Any

from fastapi import Depends

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId
from api.contracts.wire import IfMatch, VersionedBody, expected_version
from api.deps import CurrentUser, SessionDep, require
from api.production.schemas import ConsoleAnswer, ConsolePage, Page, SkuCreate, SkuOut, listed, ok
from core.permissions import Perm
from dto.production import SkuStatus
from services.identity import Principal
from services.production import effects as production
from services.production.reads import get_sku, list_skus, sku_view

router = dialect_router(Dialect.BATTERY_PACK, prefix="/api/v1/skus", tags=["battery-pack: skus"])


@router.get("", response_model=ConsolePage[SkuOut])
def list_all(session: SessionDep, _: CurrentUser, page: Annotated[Page, Depends()],
             status: SkuStatus | None = None) -> Any:
    items, total = list_skus(session, page.offset, page.size, status)
    return listed(items, total, page)


@router.post("", status_code=201, response_model=ConsoleAnswer[SkuOut])
def create(body: SkuCreate, session: SessionDep, user: Principal = require(Perm.SKU_CREATE)) -> Any:
    return ok(sku_view(production.create_sku(session, user.id, body.model_dump())), status=201)


@router.get("/{sku_id}", response_model=ConsoleAnswer[SkuOut])
def get(sku_id: DbId, session: SessionDep, _: CurrentUser) -> Any:
    return ok(sku_view(get_sku(session, sku_id)))


@router.patch("/{sku_id}/activate", response_model=ConsoleAnswer[SkuOut])
def activate(sku_id: DbId, session: SessionDep, if_match: IfMatch = None, body: VersionedBody | None = None,
             user: Principal = require(Perm.SKU_ACTIVATE)) -> Any:
    sku = production.activate_sku(session, user.id, sku_id, expected_version(body, if_match))
    return ok(sku_view(sku))
