"""Stock contract (multi-location-stock.md), items."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: items"])
