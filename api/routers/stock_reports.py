"""Stock contract (multi-location-stock.md), reports."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: reports"])
