"""Bodies of users in the stock contract's terms (multi-location-stock.md §15): roles are the stock roles."""

from typing import Annotated

from pydantic import AfterValidator

from services.stock import users


def _stock_role(value: str) -> str:
    if value.strip().upper() not in users.STOCK_ROLES:
        raise ValueError(f"Role must be one of {', '.join(users.STOCK_ROLES)}")
    return value.strip().upper()


StockRole = Annotated[str, AfterValidator(_stock_role)]
