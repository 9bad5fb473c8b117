"""One shift's performance (manufacturing-erp.md §6.6 `GET /api/v1/shift-performance`) against figures worked out by
hand on a fixed calendar (Thursday 2023-03-16, a date no other test writes on): production and inspections of the
plant's work orders in the window, downtime averaged over the plant's machines, OEE = availability × performance ×
quality, the comparisons as signed percent strings; the refusals."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from models.mes import InspectionLog, InspectionPlan, InspectionPoint, ProductionLog
from tests.conftest import MakeUser, TestUser
from tests.mes.equipment_helpers import at, make_machine, make_plant, make_shift, refused, write_event, write_history
from tests.mes.helpers import V1, make_product, make_work_order, ok

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
NIGHTS = ["sunday", "monday", "tuesday", "wednesday", "thursday"]


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


def log_units(factory: sessionmaker[Session], operator_id: int, work_order_id: int,
              logs: list[tuple[datetime, int]]) -> None:
    with session_scope(factory) as session:
        for logged_at, quantity in logs:
            session.add(ProductionLog(work_order_id=work_order_id, operator_id=operator_id,
                                      quantity_completed=quantity, cumulative_completed=quantity,
                                      hours_worked=Decimal(0), material_cost_added=Decimal(0),
                                      labor_cost_added=Decimal(0), logged_at=logged_at))


def inspect(factory: sessionmaker[Session], inspector_id: int, product_id: int, work_order_id: int,
            results: list[tuple[datetime, str]]) -> None:
    with session_scope(factory) as session:
        plan = InspectionPlan(part_id=product_id, name="Final")
        session.add(plan)
        session.flush()
        point = InspectionPoint(plan_id=plan.id, sequence=1, name="Final check", frequency_type="final")
        session.add(point)
        session.flush()
        for inspected_at, result in results:
            session.add(InspectionLog(work_order_id=work_order_id, point_id=point.id, inspector_id=inspector_id,
                                      inspected_at=inspected_at, overall_result=result))


async def test_the_contract_metrics_against_hand_worked_figures(api, supervisor, make_user, session_factory):
    """Day Shift 06:00 → 14:00, 30-minute break (09:45 → 10:15): 450 planned minutes on Thursday 2023-03-16.

    - downtime: the lathe down 08:00 → 09:00 (60), the press's logged shortage 09:30 → 10:30 (15 + 15 outside the
      break): 90 minutes over 2 machines = 45; availability (450 − 45) / 450 = 0.9;
    - actual: 120 (07:00) + 100 (10:00, in the break: still the window) + 80 (13:59, a work order of no plant on the
      lathe) = 300; the 14:00 log is after the window, another plant's log never counts; attainment 300 / 400 = 75 %;
    - performance: 300 / (6.75 h × 50 units an hour = 337.5) = 0.8889; quality: 7 of 8 inspections passed = 0.875;
    - OEE 0.9 × 0.8889 × 0.875 = 70.0 %;
    - the 7 days before: the Day Shift ran on 5 of them, 280 + 0 + 300 + 320 + 300 = 1200, average 240: +25.0 %;
      tonight's Night Shift made 250: +20.0 %; the weekend shift does not run on Thursdays, the retired one is
      retired."""
    plant, other_plant = await make_plant(api, supervisor), await make_plant(api, supervisor, "Other Plant")
    day = await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS, target=400)
    await make_shift(api, supervisor, plant, "Night Shift", "22:00", "06:00", NIGHTS, target=350)
    await make_shift(api, supervisor, plant, "Weekend Shift", "08:00", "16:00", ["saturday", "sunday"])
    await make_shift(api, supervisor, plant, "Retired Shift", "14:00", "22:00", WEEKDAYS, is_active=False)
    lathe = await make_machine(api, supervisor, plant, capacity=30)
    press = await make_machine(api, supervisor, plant, capacity=20, name="Hydraulic Press")
    elsewhere = await make_machine(api, supervisor, other_plant, capacity=500)
    write_history(session_factory, lathe["id"], [(at(2023, 3, 16, 6), "running", None),
                                                 (at(2023, 3, 16, 8), "down", "mechanical_failure"),
                                                 (at(2023, 3, 16, 9), "running", None),
                                                 (at(2023, 3, 16, 14), "available", None)])
    write_history(session_factory, press["id"], [(at(2023, 3, 16, 6), "running", None),
                                                 (at(2023, 3, 16, 14), "available", None)])
    write_event(session_factory, press["id"], "material_shortage", at(2023, 3, 16, 9, 30), at(2023, 3, 16, 10, 30))
    write_history(session_factory, elsewhere["id"], [(at(2023, 3, 16, 6), "down", "no_demand")])

    product = await make_product(api, await make_user("engineer"))
    ours = await make_work_order(api, supervisor, product, 5000, plant_id=plant["id"])
    on_lathe = await make_work_order(api, supervisor, product, 5000, machine_id=lathe["id"])
    theirs = await make_work_order(api, supervisor, product, 5000, plant_id=other_plant["id"])
    log_units(session_factory, supervisor.id, ours["id"], [
        (at(2023, 3, 16, 7), 120), (at(2023, 3, 16, 10), 100), (at(2023, 3, 16, 14), 55),
        (at(2023, 3, 16, 23), 250),  # the Night Shift of the same date
        (at(2023, 3, 9, 8), 280), (at(2023, 3, 13, 8), 300), (at(2023, 3, 14, 8), 320), (at(2023, 3, 15, 8), 300),
        (at(2023, 3, 16, 5, 59), 40)])  # Wednesday's night
    log_units(session_factory, supervisor.id, on_lathe["id"], [(at(2023, 3, 16, 13, 59), 80)])
    log_units(session_factory, supervisor.id, theirs["id"], [(at(2023, 3, 16, 9), 999)])
    results = [(at(2023, 3, 16, 7 + n % 6), "fail" if n == 3 else "pass") for n in range(8)]
    inspect(session_factory, supervisor.id, product["id"], ours["id"], [*results, (at(2023, 3, 16, 15), "fail")])
    inspect(session_factory, supervisor.id, product["id"], theirs["id"], [(at(2023, 3, 16, 9), "fail")])

    answer = ok(await api.get(f"{V1}/shift-performance", params={"shift_id": day["id"], "date": "2023-03-16"},
                              headers=(await make_user("viewer")).headers))
    assert answer == {
        "shift_id": day["id"], "shift_name": "Day Shift", "date": "2023-03-16",
        "metrics": {"target_units": 400, "actual_units": 300, "target_attainment_percent": 75,
                    "oee_percent": 70, "downtime_minutes": 45, "quality_fpy_percent": 87.5},
        "comparison": {"vs_day_shift_avg": "+25.0%", "vs_night_shift_same_day": "+20.0%"}}


async def test_a_plant_without_work_orders_machines_or_history(api, supervisor, session_factory, make_user):
    """A plant none of whose work orders says so counts the work orders of no plant; without machines nothing could
    be made (performance and OEE 0); a shift without a target has no attainment; no history before: n/a."""
    plant = await make_plant(api, supervisor)
    shift = await make_shift(api, supervisor, plant, "Early Shift", "05:00", "13:00", WEEKDAYS, break_minutes=0,
                             target=0)
    product = await make_product(api, await make_user("engineer"))
    unassigned = await make_work_order(api, supervisor, product, 5000)
    log_units(session_factory, supervisor.id, unassigned["id"], [(at(2023, 5, 18, 6), 42)])
    answer: dict[str, Any] = ok(await api.get(f"{V1}/shift-performance", headers=supervisor.headers,
                                              params={"shift_id": shift["id"], "date": "2023-05-18"}))
    assert answer["metrics"] == {"target_units": 0, "actual_units": 42, "target_attainment_percent": None,
                                 "oee_percent": 0, "downtime_minutes": 0, "quality_fpy_percent": 100}
    assert answer["comparison"] == {"vs_early_shift_avg": "n/a"}


async def test_refusals(api, supervisor):
    plant = await make_plant(api, supervisor)
    shift = await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS)
    missing = await api.get(f"{V1}/shift-performance", params={"shift_id": 2147483647, "date": "2023-03-16"},
                            headers=supervisor.headers)
    assert missing.status_code == 404 and missing.json()["error"] == "Shift 2147483647 not found"
    no_date = await api.get(f"{V1}/shift-performance", params={"shift_id": shift["id"]}, headers=supervisor.headers)
    assert no_date.status_code == 400 and no_date.json()["details"][0]["field"] == "query.date"
    refused(await api.get(f"{V1}/shift-performance", params={"shift_id": shift["id"], "date": "9999-12-31"},
                          headers=supervisor.headers),
            "date", "date 9999-12-31 is outside the calendar this service reckons with")
