"""Stock contract (multi-location-stock.md), locations."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: locations"])
