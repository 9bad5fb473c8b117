"""Stock contract (multi-location-stock.md), reconciliations."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: reconciliations"])
