"""The stock part of `make demo` (scripts/demo/stock.py): what it says it did is what the stock API shows.
`assert_stock_state` is also what tests/system/test_demo.py checks after each whole demo run."""

import asyncio
import io
from datetime import date, timedelta
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from scripts.demo.kit import Operator, Story
from scripts.demo.stock import STOCK_SESSION_COOKIE, StockResult, StockUser, free_months, run_stock
from tests.conftest import TestUser, unique
from tests.stock.helpers import seed_location

API = "/api"
# The scenario's closing stock per location (every value in SAR):
#   CEN  receipts 5,000 + 3,250 + 2,160, issue 50 rice at 6.50 (325), transfer out 50 chicken at 25 (1,250)
#   KIT  receipts 1,040 + 650, issues 15.5 chicken at 26 (403) and 30 rice at 6.50 (195), transfer in 1,250
#   STR  receipts 520 + 500 (the rejected transfer moved nothing)
#   WHS  receipts 1,950 + 1,080
EXPECTED_CLOSING = {"CEN": 8835.0, "KIT": 2342.0, "STR": 1020.0, "WHS": 3030.0}
# KIT's chicken after the approved transfer: (24.5 × 26.00 + 50 × 25.00) / 74.5 = 25.3289 (4 dp, half-up)
KITCHEN_CHICKEN = (74.5, 25.3289)
POB_TOTALS = {"total_crew": 180, "total_extra": 37, "total_mandays": 217}


async def get(api: httpx.AsyncClient, user: Any, path: str, **params: Any) -> Any:
    response = await api.get(f"{API}{path}", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def workflow_becomes(client: Client, workflow_id: str, status: WorkflowExecutionStatus) -> None:
    seen = None
    for _ in range(100):
        seen = (await client.get_workflow_handle(workflow_id).describe()).status
        if seen == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} is {seen}, expected {status}")


async def assert_stock_state(api: httpx.AsyncClient, boss: Any, result: StockResult,
                             temporal_client: Client | None = None) -> None:
    sites = result.locations
    assert sorted(sites) == ["CEN", "KIT", "STR", "WHS"] and len({s.id for s in sites.values()}) == 4
    for site in sites.values():
        location = await get(api, boss, f"/locations/{site.id}")
        assert (location["code"], location["is_active"]) == (site.code, True) and result.run_tag.upper() in site.code

    ncr = await get(api, boss, f"/ncrs/{result.variance_ncr_id}")
    assert (ncr["ncr_no"], ncr["type"], ncr["status"]) == (result.variance_ncr_no, "PRICE_VARIANCE", "SENT")
    assert (ncr["expected_price"], ncr["actual_price"], ncr["variance"], ncr["variance_percent"]) == (25, 26, 1, 4)
    assert ncr["total_value"] == 40 and ncr["location"]["id"] == sites["KIT"].id
    listed = await get(api, boss, "/ncrs", locationId=sites["KIT"].id, type="PRICE_VARIANCE")
    assert [n["id"] for n in listed["ncrs"]] == [result.variance_ncr_id]

    approved = await get(api, boss, f"/transfers/{result.approved_transfer_id}")
    assert approved["status"] == "COMPLETED"
    assert (approved["from_location"]["id"], approved["to_location"]["id"]) == (sites["CEN"].id, sites["KIT"].id)
    rejected = await get(api, boss, f"/transfers/{result.rejected_transfer_id}")
    assert (rejected["status"], rejected["rejection_reason"]) == ("REJECTED", result.rejection_reason)
    chicken = result.items["chicken"]
    [row] = [r for r in await get(api, boss, "/items", locationId=sites["KIT"].id, search=chicken.code)
             if r["id"] == chicken.id]
    assert (row["on_hand"], row["wac"]) == KITCHEN_CHICKEN

    sheet = await get(api, boss, f"/locations/{result.pob_location_id}/pob", periodId=result.period_id)
    assert sheet["totals"] == result.pob_totals == POB_TOTALS and len(sheet["entries"]) == 3

    period = await get(api, boss, f"/periods/{result.period_id}")
    assert period["status"] == "CLOSED" and period["closed_at"]
    assert period["close_locations_done"] == period["close_locations_total"] > 0
    following = await get(api, boss, f"/periods/{result.next_period_id}")
    assert following["status"] == "OPEN" and following["previous_period"]["id"] == result.period_id
    assert following["name"] == result.next_period_name and following["prices_count"] == 3
    assert date.fromisoformat(following["start_date"]) == date.fromisoformat(period["end_date"]) + timedelta(days=1)
    for key, site in sites.items():
        closed = await get(api, boss, "/reconciliations/consolidated", periodId=result.period_id, locationId=site.id)
        opened = await get(api, boss, "/reconciliations/consolidated", periodId=result.next_period_id,
                           locationId=site.id)
        closing, opening = closed["reconciliations"][0]["closing_stock"], opened["reconciliations"][0]["opening_stock"]
        assert closing == opening == EXPECTED_CLOSING[key], (key, closing, opening)
        assert (result.closing_stock[site.id], result.next_opening_stock[site.id]) == (closing, opening)

    if temporal_client is not None:
        for workflow_id in result.completed_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.COMPLETED)
        for workflow_id in result.running_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.RUNNING)


def assert_story_names_the_workflows(text: str, result: StockResult) -> None:
    for workflow_id in [*result.completed_workflow_ids, *result.running_workflow_ids]:
        assert workflow_id in text
    assert "PRICE_VARIANCE" in text and "Delivery posted. 1 price variance(s) detected" in text
    assert result.period_name in text and result.next_period_name in text


async def test_the_stock_scenario_readies_locations_it_did_not_make(api: httpx.AsyncClient, admin: TestUser,
                                                                    temporal_client: Client,
                                                                    session_factory: Any) -> None:
    """Someone else's active location, NOT_READY, does not stop the demo's close: the demo marks it."""
    foreign = seed_location(session_factory, "STORE", "Someone else's store")
    out = io.StringIO()

    result = await run_stock(api, Operator(api, admin.username, admin.role, admin.token), unique("solo"),
                             Story(out))

    await assert_stock_state(api, admin, result, temporal_client)
    assert_story_names_the_workflows(out.getvalue(), result)
    assert result.other_locations_marked_ready >= 1
    detail = await get(api, admin, f"/periods/{result.period_id}")
    assert {r["location"]["id"]: r["status"] for r in detail["locations"]}[foreign.uid] == "READY"
    assert STOCK_SESSION_COOKIE not in api.cookies, "the demo leaves no session cookie in the shared client"


def test_free_months_skips_every_taken_pair() -> None:
    jan = date(2200, 1, 1)
    assert free_months([]) == jan
    assert free_months([(date(2200, 2, 1), date(2200, 2, 28))]) == date(2200, 3, 1), "the roll-forward needs Feb"
    taken = [(date(2200, 1, 1), date(2200, 1, 31)), (date(2200, 2, 1), date(2200, 2, 28)),
             (date(2200, 4, 10), date(2200, 4, 19))]
    assert free_months(taken) == date(2200, 5, 1)
    assert free_months([(date(2199, 12, 20), date(2200, 1, 5))]) == date(2200, 2, 1)


async def test_a_rate_limited_call_waits_and_is_sent_again() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}, json={"statusCode": 429, "data": {
        "code": "RATE_LIMITED", "message": "Too many requests"}}), httpx.Response(200, json={"ok": True})])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return next(answers)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://stock") as client:
        assert await StockUser(client, "u", "OPERATOR", "t").call("GET", "/api/periods") == {"ok": True}
    assert seen == ["Bearer t", "Bearer t"]

