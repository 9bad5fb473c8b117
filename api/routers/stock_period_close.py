"""Stock contract (multi-location-stock.md), period close."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: period close"])
