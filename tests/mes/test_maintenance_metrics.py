"""Maintenance KPIs (manufacturing-erp.md §6.7 `GET /api/v1/maintenance-metrics`) against figures worked out by hand
on a fixed calendar: MTBF and MTTR from unplanned downtime only, PM compliance, total downtime and its Pareto, the
unplanned share of the available time; one plant or all; the refusals."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from models.mes.maintenance import PmWorkOrder
from tests.conftest import MakeUser, TestUser, unique
from tests.mes.equipment_helpers import at, make_machine, make_plant, make_shift, refused, write_event, write_history
from tests.mes.helpers import V1, ok

METRICS = f"{V1}/maintenance-metrics"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


def pm(factory: sessionmaker[Session], machine_id: int, scheduled: date, status: str,
       completed_at: datetime | None = None) -> None:
    with session_scope(factory) as session:
        session.add(PmWorkOrder(work_order_number=unique("PM"), machine_id=machine_id, pm_type="lubrication",
                                status=status, scheduled_date=scheduled, completed_at=completed_at))


async def test_the_contract_metrics_against_hand_worked_figures(api, supervisor, make_user, session_factory):
    """Day Shift 06:00 → 14:00 on weekdays, break 09:45 → 10:15: 450 minutes a day; Monday 2025-11-03 to Friday
    2025-11-07 on two machines: 4500 available minutes (75 h).

    - the lathe: down (mechanical) 08:00 → 10:00 on Monday (120 minutes, 105 inside the shift), preventive
      maintenance 06:00 → 08:00 on Wednesday (planned, 120), down (electrical) 20:00 → 23:00 on Thursday (180,
      none inside the shift);
    - the press: a logged material shortage 12:00 → 13:00 on Tuesday (60), a logged no-demand stop 13:00 → 15:00 on
      Wednesday (planned, 120).

    Failures: 3; unplanned downtime 120 + 180 + 60 = 360 minutes → MTTR 2.0 h; inside the available time
    105 + 60 = 165 → MTBF (75 − 2.75) / 3 = 24.1 h, unplanned 165 / 4500 = 3.7 %. Downtime 600 minutes: electrical
    180 (30 %), mechanical, no demand, preventive maintenance 120 each (20 %), material shortage 60 (10 %).
    PM compliance: on time Monday's and Wednesday's (completed that evening), late Tuesday's, the cancelled and the
    forgotten one count against it, one before the period does not count: 2 of 5 = 40 %."""
    plant, other = await make_plant(api, supervisor), await make_plant(api, supervisor, "Other Plant")
    await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS)
    lathe = await make_machine(api, supervisor, plant)
    press = await make_machine(api, supervisor, plant, name="Hydraulic Press")
    elsewhere = await make_machine(api, supervisor, other)
    write_history(session_factory, lathe["id"], [
        (at(2025, 11, 3, 6), "running", None), (at(2025, 11, 3, 8), "down", "mechanical_failure"),
        (at(2025, 11, 3, 10), "running", None), (at(2025, 11, 5, 6), "maintenance", "preventive_maintenance"),
        (at(2025, 11, 5, 8), "running", None), (at(2025, 11, 6, 20), "down", "electrical_failure"),
        (at(2025, 11, 6, 23), "running", None), (at(2025, 11, 7, 14), "available", None)])
    write_history(session_factory, press["id"], [(at(2025, 11, 3, 6), "running", None),
                                                 (at(2025, 11, 7, 14), "available", None)])
    write_event(session_factory, press["id"], "material_shortage", at(2025, 11, 4, 12), at(2025, 11, 4, 13))
    write_event(session_factory, press["id"], "no_demand", at(2025, 11, 5, 13), at(2025, 11, 5, 15))
    write_event(session_factory, elsewhere["id"], "mechanical_failure", at(2025, 11, 4, 6), at(2025, 11, 4, 12))
    pm(session_factory, lathe["id"], date(2025, 11, 3), "completed", at(2025, 11, 3, 10))
    pm(session_factory, press["id"], date(2025, 11, 4), "completed", at(2025, 11, 5, 9))
    pm(session_factory, lathe["id"], date(2025, 11, 5), "completed", at(2025, 11, 5, 23, 30))
    pm(session_factory, press["id"], date(2025, 11, 6), "cancelled")
    pm(session_factory, lathe["id"], date(2025, 11, 7), "planned")
    pm(session_factory, lathe["id"], date(2025, 11, 2), "completed", at(2025, 11, 2, 9))
    pm(session_factory, elsewhere["id"], date(2025, 11, 4), "planned")

    answer = ok(await api.get(METRICS, headers=(await make_user("viewer")).headers,
                              params={"plant_id": plant["id"], "start_date": "2025-11-03", "end_date": "2025-11-07"}))
    assert answer == {
        "period": {"start": "2025-11-03", "end": "2025-11-07"},
        "metrics": {"mtbf_hours": 24.1, "mttr_hours": 2, "pm_compliance_percent": 40, "total_downtime_minutes": 600,
                    "unplanned_downtime_percent": 3.7},
        "downtime_pareto": [{"reason": "Electrical Failure", "minutes": 180, "percent": 30},
                            {"reason": "Mechanical Failure", "minutes": 120, "percent": 20},
                            {"reason": "No Demand", "minutes": 120, "percent": 20},
                            {"reason": "Preventive Maintenance", "minutes": 120, "percent": 20},
                            {"reason": "Material Shortage", "minutes": 60, "percent": 10}]}

    everywhere = ok(await api.get(METRICS, headers=supervisor.headers,
                                  params={"start_date": "2025-11-03", "end_date": "2025-11-07"}))
    assert everywhere["metrics"]["total_downtime_minutes"] >= 600 + 360  # the other plant's mechanical failure too
    quiet = ok(await api.get(METRICS, headers=supervisor.headers,
                             params={"plant_id": plant["id"], "start_date": "2025-10-01", "end_date": "2025-10-31"}))
    assert quiet["metrics"] == {"mtbf_hours": None, "mttr_hours": None, "pm_compliance_percent": None,
                                "total_downtime_minutes": 0, "unplanned_downtime_percent": 0}
    assert quiet["downtime_pareto"] == []


async def test_a_pm_not_yet_due_is_not_judged(api, supervisor, session_factory):
    plant = await make_plant(api, supervisor)
    machine = await make_machine(api, supervisor, plant)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    pm(session_factory, machine["id"], tomorrow, "planned")
    params = {"plant_id": plant["id"], "start_date": tomorrow.isoformat(), "end_date": tomorrow.isoformat()}
    assert ok(await api.get(METRICS, headers=supervisor.headers,
                            params=params))["metrics"]["pm_compliance_percent"] is None
    pm(session_factory, machine["id"], tomorrow, "completed", datetime.now(UTC))  # done early: on time
    assert ok(await api.get(METRICS, headers=supervisor.headers,
                            params=params))["metrics"]["pm_compliance_percent"] == 100


async def test_refusals(api, supervisor, make_user):
    refused(await api.get(METRICS, params={"start_date": "2025-11-06", "end_date": "2025-11-01"},
                          headers=supervisor.headers),
            "start_date", "start_date 2025-11-06 is after end_date 2025-11-01")
    refused(await api.get(METRICS, params={"start_date": "2024-01-01", "end_date": "2025-06-01"},
                          headers=supervisor.headers), "end_date", "A period covers at most 366 days")
    missing = await api.get(METRICS, params={"end_date": "2025-11-01"}, headers=supervisor.headers)
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "query.start_date"
    unknown = await api.get(METRICS, params={"plant_id": 2147483647, "start_date": "2025-11-01",
                                             "end_date": "2025-11-06"}, headers=supervisor.headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "Plant 2147483647 not found"
    denied = await api.get(METRICS, params={"start_date": "2025-11-01", "end_date": "2025-11-06"},
                           headers=(await make_user("technician")).headers)
    assert denied.status_code == 403
