"""Stock contract (multi-location-stock.md), pob."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: pob"])
