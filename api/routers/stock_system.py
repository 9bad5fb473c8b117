"""Stock contract (multi-location-stock.md), system."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: system"])
