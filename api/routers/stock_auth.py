"""Stock contract (multi-location-stock.md), auth."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: auth"])
