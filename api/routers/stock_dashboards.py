"""Stock contract (multi-location-stock.md), dashboards."""

from api.stock_common import stock_router

router = stock_router(tags=["stock: dashboards"])
