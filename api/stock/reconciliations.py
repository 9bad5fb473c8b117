"""Stock contract (multi-location-stock.md) §13, reconciliations (figures: services/stock/periods/reconciliation.py)."""

from decimal import Decimal
from typing import Annotated

from fastapi import Query
from pydantic import Field
from sqlalchemy import select

from api.contracts.types import SafeStr
from api.deps import CurrentUser, SessionDep, require
from api.stock.common import StockBody, stock_router
from api.stock.rendering import StockJSON
from api.stock.schemas.reports import ConsolidatedReconciliationOut, ReconciliationSavedOut
from core.permissions import Perm
from models.stock import Location
from services.stock import access
from services.stock.periods import close as stock_period_close
from services.stock.periods import reconciliation as stock_reconciliation

router = stock_router(tags=["stock: reconciliations"])
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class ReconciliationBody(StockBody):
    period_id: str = Field(alias="periodId")
    location_id: str = Field(alias="locationId")
    back_charges: Money = Decimal(0)
    credits: Money = Decimal(0)
    condemnations: Money = Decimal(0)
    adjustments: Annotated[Decimal, Field(max_digits=14, decimal_places=2)] = Decimal(0)
    is_confirmed: bool = False


@router.get("/reconciliations/consolidated", dependencies=[require(Perm.STOCK_VIEW)], response_class=StockJSON,
            response_model=ConsolidatedReconciliationOut)
def consolidated(session: SessionDep, user: CurrentUser, period_id: Annotated[SafeStr, Query(alias="periodId")],
                 location_id: Annotated[SafeStr | None, Query(alias="locationId")] = None) -> StockJSON:
    period = stock_period_close.period_by_uid(session, period_id)
    if location_id:
        locations = [access.accessible_location(session, user, location_id)]
    else:
        locations = list(session.scalars(select(Location).where(
            Location.is_active.is_(True), access.location_filter(session, user, Location.id))
            .order_by(Location.code)))
    rows = stock_reconciliation.reconcile_many(session, period, locations)
    return StockJSON({"period": {"id": str(period.uid), "name": period.name}, "reconciliations": rows,
                      "grand_totals": stock_reconciliation.grand_totals(rows)})


@router.post("/reconciliations", dependencies=[require(Perm.STOCK_RECONCILE)], response_class=StockJSON,
             response_model=ReconciliationSavedOut)
def save(body: ReconciliationBody, session: SessionDep, user: CurrentUser) -> StockJSON:
    period = stock_period_close.period_by_uid(session, body.period_id)
    location = access.accessible_location(session, user, body.location_id)
    # Only what the body sends changes: a save of `is_confirmed` alone keeps the stored amounts.
    values = body.model_dump(include={"back_charges", "credits", "condemnations", "adjustments", "is_confirmed"},
                             exclude_unset=True)
    stock_reconciliation.save(session, user.id, period, location, values)
    row = stock_reconciliation.reconcile(session, period, location)
    calculations = {"consumption": row["consumption"], "total_adjustments": row["total_adjustments"]}
    return StockJSON({"success": True, "message": "Reconciliation adjustments saved successfully",
                      "reconciliation": row, "calculations": calculations})
