"""The ERP part of `make demo` (scripts/demo/erp.py): what it says it did is what the ERP API shows.
`assert_erp_state` is also what tests/system/test_demo.py checks after each whole demo run."""

import io
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from scripts.demo.erp import DIAMETERS, NCR_PATH, ErpResult, run_erp
from scripts.demo.kit import Operator, Story
from tests.conftest import TestUser, unique
from tests.system.test_stock_demo import workflow_becomes

V1 = "/api/v1"


async def get(api: httpx.AsyncClient, user: Any, path: str, **params: Any) -> Any:
    response = await api.get(f"{V1}{path}", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def assert_erp_state(api: httpx.AsyncClient, boss: Any, result: ErpResult,
                           temporal_client: Client | None = None) -> None:
    first = await get(api, boss, f"/work-orders/{result.first_work_order_id}")
    assert (first["status"], first["quantity_completed"], first["progress_percent"]) == ("closed", 20, 100)
    codes = [h["transition_code"] for h in first["history"]]
    assert codes == ["create", "release", "start", "hold", "resume", "complete", "close"], codes
    assert first["costs"]["material_cost"] == 216  # 20 × (2 × 5.00 + 0.5 × 1.60)
    second = await get(api, boss, f"/work-orders/{result.second_work_order_id}")
    assert second["status"] == "in_progress" and second["dependencies"][0]["status"] == "closed"

    ncr = await get(api, boss, f"/ncr-reports/{result.ncr_id}")
    assert (ncr["ncr_number"], ncr["status"], ncr["severity"]) == (result.ncr_number, "closed", "major")
    assert ncr["ncr_type"] == "Inspection Failure" and len(ncr["photos"]) == 1
    assert [h["transition_code"] for h in ncr["history"]] == ["submit", *NCR_PATH]
    photo = await api.get(ncr["photos"][0]["url"], headers=boss.headers)
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")

    day = first["created_at"][:10]
    chart = await get(api, boss, "/spc-charts", characteristic_id=result.characteristic_id, start_date=day,
                      end_date=day)
    # the failed first piece and the twelve passing ones
    assert [p["value"] for p in chart["data_points"]] == [25.16, *DIAMETERS]
    assert result.spc_png.read_bytes().startswith(b"\x89PNG")
    if temporal_client is not None:
        for workflow_id in result.completed_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.COMPLETED)
        for workflow_id in result.running_workflow_ids:
            await workflow_becomes(temporal_client, workflow_id, WorkflowExecutionStatus.RUNNING)


async def test_the_erp_scenario_does_what_it_says(api: httpx.AsyncClient, admin: TestUser,
                                                  temporal_client: Client) -> None:
    out = io.StringIO()
    result = await run_erp(api, Operator(api, admin.username, admin.role, admin.token), unique("erp"), Story(out))

    await assert_erp_state(api, admin, result, temporal_client)
    text = out.getvalue()
    assert "Cannot start work order: Waiting for WO-" in text and result.ncr_number in text
    assert "is in_progress once the NCR is approved" in text and "Cp " in text
