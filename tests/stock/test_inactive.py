"""Deactivated records take no new documents (a decision of ours, README "Multi-location stock"): a location
deactivated by an ADMIN (only an empty one can be) refuses deliveries, issues, transfers and POB (400
INVALID_STATUS); an inactive item or supplier is refused as the field naming it (400 VALIDATION_ERROR).
Nothing is written either way."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.db import session_scope
from models.stock import Delivery, StockIssue, Transfer
from tests.stock.helpers import seed_location
from tests.stock.test_deliveries import Site, error_of, new_site, post_delivery, stock_of
from tests.stock.test_issues import post_issue
from tests.stock.test_pob import record

pytestmark = pytest.mark.asyncio(loop_scope="session")


def documents_at(factory: Any, site: Site) -> tuple[int, int, int]:
    with session_scope(factory) as session:
        return tuple(int(session.scalar(select(func.count()).select_from(model).where(column == site.location.id)) or 0)
                     for model, column in ((Delivery, Delivery.location_id), (StockIssue, StockIssue.location_id),
                                           (Transfer, Transfer.from_location_id)))  # type: ignore[return-value]


async def deactivate(api: httpx.AsyncClient, admin: Any, path: str) -> None:
    response = await api.patch(path, json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200, response.text


async def test_a_deactivated_location_takes_no_new_documents(api, admin, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    await deactivate(api, admin, f"/api/locations/{site.location.uid}")

    delivery = await post_delivery(api, supervisor, site)
    issue = await post_issue(api, supervisor, site, 1)
    pob = await record(api, supervisor, site.location, site.period)
    transfer = await api.post("/api/transfers", headers=supervisor.headers, json={
        "from_location_id": seed_location(session_factory).uid, "to_location_id": site.location.uid,
        "request_date": site.period.day(25), "lines": [{"item_id": site.item.uid, "quantity": 1}]})

    for response in (delivery, issue, pob, transfer):
        data = error_of(response, 400, "INVALID_STATUS")
        assert data["details"] == {"location": site.location.code, "status": "INACTIVE"}
        assert site.location.code in data["message"]
    assert documents_at(session_factory, site) == (0, 0, 0)
    assert stock_of(session_factory, site) is None


async def test_an_inactive_item_or_supplier_is_refused_where_it_is_named(api, admin, make_user, session_factory):
    site = new_site(session_factory)
    supervisor = await make_user("SUPERVISOR")
    await deactivate(api, admin, f"/api/items/{site.item.uid}")
    await deactivate(api, admin, f"/api/suppliers/{site.supplier.uid}")

    delivery = await post_delivery(api, supervisor, site)

    details = error_of(delivery, 400, "VALIDATION_ERROR")["details"]
    assert details == [{"path": ["supplier_id"], "message": f"Supplier {site.supplier.code} is inactive"},
                       {"path": ["lines", 0, "item_id"], "message": f"Item {site.item.code} is inactive"}]
    issue = await post_issue(api, supervisor, site, 1)
    assert error_of(issue, 400, "VALIDATION_ERROR")["details"][0]["path"] == ["lines", 0, "item_id"]
    assert documents_at(session_factory, site) == (0, 0, 0)
