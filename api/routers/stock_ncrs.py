"""Stock contract (multi-location-stock.md), ncrs."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: ncrs"])
