"""ERP SPC charts (manufacturing-erp.md §6.8, `GET /api/v1/spc-charts`): the contract's body over measurements
logged through the API, its numbers against values worked out by hand, the period's whole UTC days, the PNG
image, and the refusals in the ERP shape."""

import random
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import MakeUser, TestUser
from tests.mes.test_inspection_plans import make_plan, make_product, make_work_order, ok

LOGS = "/api/v1/inspection-logs"
SPC = "/api/v1/spc-charts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PERIOD = {"start_date": "2025-11-01", "end_date": "2025-11-06"}

# A bore of 10mm ±1mm (LSL 9.0, USL 11.0), measured nine times in the period, from its first instant to its last.
SERIES = [("2025-11-01T00:00:00Z", 9.4), ("2025-11-01T08:00:00Z", 10.1), ("2025-11-01T10:00:00Z", 10.2),
          ("2025-11-01T16:00:00+02:00", 10.1), ("2025-11-02T08:00:00Z", 10.2), ("2025-11-03T08:00:00Z", 10.1),
          ("2025-11-04T08:00:00Z", 10.2), ("2025-11-05T12:00:00Z", 10.1), ("2025-11-06T23:59:59Z", 9.4)]
OUTSIDE = [("2025-10-31T23:59:59Z", 50), ("2025-11-07T00:00:00Z", 50)]  # a second before, the instant after


class Bore:
    def __init__(self, characteristic_id: int, viewer: TestUser) -> None:
        self.characteristic_id, self.viewer = characteristic_id, viewer

    async def chart(self, api: httpx.AsyncClient, **params: Any) -> httpx.Response:
        return await api.get(SPC, params={"characteristic_id": self.characteristic_id, **PERIOD, **params},
                             headers=self.viewer.headers)


@pytest.fixture
async def bore(api: httpx.AsyncClient, make_user: MakeUser, session_factory: sessionmaker[Session]) -> Bore:
    """The bore's plan, a work order, and the series plus the two measurements just outside the period, logged
    in shuffled order (the chart is in time order whatever the order of logging)."""
    engineer, inspector = await make_user("engineer"), await make_user("inspector")
    product = await make_product(api, engineer, "Bushing 10mm")
    plan = await make_plan(api, engineer, product["id"], {
        "name": "Bore Diameter", "type": "dimensional", "specification": "10mm", "tolerance": "±1mm",
        "usl": 11.0, "lsl": 9.0, "measurement_method": "Bore gauge"})
    point = plan["inspection_points"][0]
    characteristic_id = point["characteristics"][0]["id"]
    work_order_id, _ = make_work_order(session_factory, product["id"])
    logged = SERIES + OUTSIDE
    random.Random(12).shuffle(logged)
    for at, value in logged:
        ok(await api.post(LOGS, headers=inspector.headers, json={
            "work_order_id": work_order_id, "inspection_point_id": point["id"], "inspected_at": at,
            "measurements": [{"characteristic_id": characteristic_id, "measured_value": value}]}), 201)
    return Bore(characteristic_id, await make_user("operator"))  # the floor reads charts


async def test_the_chart_is_the_contracts_body_with_numbers_worked_out_by_hand(api, bore):
    # Values in time order: 9.4, 10.1, 10.2, 10.1, 10.2, 10.1, 10.2, 10.1, 9.4 (the two 50s are outside the period).
    # mean = (2 × 9.4 + 4 × 10.1 + 3 × 10.2) / 9 = 89.8 / 9 = 9.97777… → center line 9.9778
    # moving ranges 0.7, 0.1 × 6, 0.7 → sum 2.0, MR̄ = 0.25, σ = 0.25 / 1.128 = 0.2216312…, 3σ = 0.6648936…
    # UCL = 10.6426713… → 10.6427, LCL = 9.3128841… → 9.3129
    # Cp = (11 - 9) / 6σ = 2 / 1.3297872… = 1.504 → 1.50
    # CPU = (11 - 9.97778) / 3σ = 1.5374; CPL = (9.97778 - 9) / 3σ = 1.4706 → Cpk 1.47: "Good (4σ capable)"
    # Points 2 to 8 (10.1 / 10.2) are seven in a row above 9.9778: a trend, detected at the eighth point. Nothing
    # else: 1σ above is 10.1994, so at most 3 of any 5 points are beyond it; 9.4 is beyond 2σ below (9.5345) only
    # once in any 3 points and not beyond 3σ (9.3129); the values alternate, so no six rise or fall in a row.
    body = ok(await bore.chart(api))
    assert body == {
        "characteristic_id": bore.characteristic_id, "characteristic_name": "Bore Diameter",
        "specification": "10mm ±1mm", "period": {"start": "2025-11-01", "end": "2025-11-06"},
        "control_limits": {"ucl": 10.6427, "lcl": 9.3129, "center_line": 9.9778},
        "capability": {"cp": 1.5, "cpk": 1.47, "interpretation": "Good (4σ capable)"},
        "data_points": [{"timestamp": at, "value": value} for at, value in [
            ("2025-11-01T00:00:00Z", 9.4), ("2025-11-01T08:00:00Z", 10.1), ("2025-11-01T10:00:00Z", 10.2),
            ("2025-11-01T14:00:00Z", 10.1), ("2025-11-02T08:00:00Z", 10.2), ("2025-11-03T08:00:00Z", 10.1),
            ("2025-11-04T08:00:00Z", 10.2), ("2025-11-05T12:00:00Z", 10.1), ("2025-11-06T23:59:59Z", 9.4)]],
        "alerts": [{"type": "trend", "message": "7 consecutive points above center line",
                    "detected_at": "2025-11-05T12:00:00Z"}]}
    assert (await bore.chart(api, format="json")).json() == body
    assert (await api.get(SPC, params={"characteristic_id": bore.characteristic_id, **PERIOD},
                          headers={**bore.viewer.headers, "Accept": "application/json"})).json() == body


async def test_the_period_is_whole_utc_days(api, bore):
    one_day = ok(await bore.chart(api, start_date="2025-11-01", end_date="2025-11-01"))
    assert [p["value"] for p in one_day["data_points"]] == [9.4, 10.1, 10.2, 10.1]
    assert one_day["period"] == {"start": "2025-11-01", "end": "2025-11-01"}
    everything = ok(await bore.chart(api, start_date="2025-10-31", end_date="2025-11-07"))
    assert [p["value"] for p in everything["data_points"]] == [50, *(value for _, value in SERIES), 50]


async def test_the_chart_as_a_png_image(api, bore):
    for response in (await bore.chart(api, format="png"),
                     await api.get(SPC, params={"characteristic_id": bore.characteristic_id, **PERIOD},
                                   headers={**bore.viewer.headers, "Accept": "image/png"})):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(PNG_SIGNATURE) and len(response.content) > 10_000


async def test_refusals_in_the_erp_shape(api, bore, make_user):
    few = await bore.chart(api, start_date="2025-10-31", end_date="2025-10-31")  # one point: no moving range
    assert few.status_code == 400
    assert few.json() == {"error": "Not enough data", "code": "NOT_ENOUGH_DATA",
                          "reason": f"An SPC chart needs at least 2 measurements; characteristic "
                                    f"{bore.characteristic_id} has 1 from 2025-10-31 to 2025-10-31"}
    none = await bore.chart(api, start_date="2024-01-01", end_date="2024-12-31", format="png")
    assert none.status_code == 400 and none.json()["error"] == "Not enough data"

    backwards = await bore.chart(api, start_date="2025-11-06", end_date="2025-11-01")
    assert backwards.status_code == 400
    assert backwards.json() == {"error": "Validation failed", "details": [
        {"field": "start_date", "message": "start_date 2025-11-06 is after end_date 2025-11-01"}]}

    unknown = await api.get(SPC, params={"characteristic_id": 2147483647, **PERIOD}, headers=bore.viewer.headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Inspection characteristic 2147483647 not found", "code": "NOT_FOUND",
                              "reason": {"id": "2147483647"}}

    for params in ({"characteristic_id": bore.characteristic_id}, {**PERIOD},
                   {"characteristic_id": bore.characteristic_id, **PERIOD, "start_date": "2025-11-31"},
                   {"characteristic_id": bore.characteristic_id, **PERIOD, "format": "svg"}):
        answer = await api.get(SPC, params=params, headers=bore.viewer.headers)
        assert answer.status_code == 400 and answer.json()["error"] == "Validation failed", answer.text

    last_day = ok(await bore.chart(api, start_date="2025-11-01", end_date="9999-12-31"))  # no day after it
    assert len(last_day["data_points"]) == len(SERIES) + 1
    assert (await bore.chart(api)).status_code == 200
    store = await make_user("store")
    assert (await api.get(SPC, params={"characteristic_id": bore.characteristic_id, **PERIOD},
                          headers=store.headers)).status_code == 403
