"""A machine's utilization (manufacturing-erp.md §6.5 `GET /api/v1/machines/{id}/utilization`) against figures worked
out by hand on a fixed calendar: status history and logged events written at past times, shift windows with their
mid-shift break, a night shift across midnight, a plant without shifts (the whole calendar), the breakdown by reason,
the refusals."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import MakeUser, TestUser
from tests.mes.equipment_helpers import at, make_machine, make_plant, make_shift, refused, write_event, write_history
from tests.mes.helpers import V1, ok

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


def usage_of(answer: dict) -> tuple[int, int, int, int, float]:
    m = answer["metrics"]
    return (m["available_time_minutes"], m["productive_time_minutes"], m["downtime_minutes"],
            m["setup_time_minutes"], m["utilization_percent"])


async def test_the_contract_period_on_a_day_shift(api, supervisor, session_factory):
    """Day Shift 06:00 → 14:00 on weekdays with a 30-minute break at 09:45 → 10:15: 450 minutes a day. From Saturday
    2025-11-01 to Thursday 2025-11-06: four working days, 1800 minutes.

    Monday 3:  running 05:00 (counts from 06:00: 120), down (mechanical) 08:00 → 09:00 (60), running 09:00 → 12:00
               (09:00 → 09:45 and 10:15 → 12:00: 150), setup 12:00 → 12:30 (30), running to 16:00 (to 14:00: 90).
    Tuesday 4: maintenance (no reason: preventive) 06:00 → 07:00 (60), running 07:00 → 14:00 (165 + 225) less the
               logged material shortage 10:00 → 11:00 (inside the shift from 10:15: 45), so 345 productive.
    Wednesday and Thursday: available, idle. A logged event after the shift (no demand, 20:00) counts nowhere.

    productive 120 + 150 + 90 + 345 = 705, downtime 60 + 60 + 45 = 165, setup 30; 705 / 1800 = 39.17 %."""
    plant = await make_plant(api, supervisor)
    await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS)
    machine = await make_machine(api, supervisor, plant)
    write_history(session_factory, machine["id"], [
        (at(2025, 11, 3, 5), "running", None), (at(2025, 11, 3, 8), "down", "mechanical_failure"),
        (at(2025, 11, 3, 9), "running", None), (at(2025, 11, 3, 12), "setup", None),
        (at(2025, 11, 3, 12, 30), "running", None), (at(2025, 11, 3, 16), "available", None),
        (at(2025, 11, 4, 6), "maintenance", None), (at(2025, 11, 4, 7), "running", None),
        (at(2025, 11, 4, 14), "available", None)])
    write_event(session_factory, machine["id"], "material_shortage", at(2025, 11, 4, 10), at(2025, 11, 4, 11))
    write_event(session_factory, machine["id"], "no_demand", at(2025, 11, 4, 20), at(2025, 11, 4, 21))

    answer = ok(await api.get(f"{V1}/machines/{machine['id']}/utilization", headers=supervisor.headers,
                              params={"start_date": "2025-11-01", "end_date": "2025-11-06"}))
    assert answer == {
        "machine_id": machine["id"], "machine_name": "CNC Lathe Machine",
        "period": {"start": "2025-11-01", "end": "2025-11-06"},
        "metrics": {"available_time_minutes": 1800, "productive_time_minutes": 705, "utilization_percent": 39.17,
                    "downtime_minutes": 165, "setup_time_minutes": 30},
        "downtime_breakdown": [{"reason": "Mechanical Failure", "minutes": 60, "occurrences": 1},
                               {"reason": "Preventive Maintenance", "minutes": 60, "occurrences": 1},
                               {"reason": "Material Shortage", "minutes": 45, "occurrences": 1}]}

    monday = ok(await api.get(f"{V1}/machines/{machine['id']}/utilization", headers=supervisor.headers,
                              params={"start_date": "2025-11-03", "end_date": "2025-11-03"}))
    assert usage_of(monday) == (450, 360, 60, 30, 80)


async def test_a_night_shift_counts_from_the_night_before_and_a_plant_without_shifts_the_calendar(
        api, supervisor, session_factory):
    """Night Shift 22:00 → 06:00 Sunday to Thursday, break 01:45 → 02:15. Tuesday 2025-11-04 holds the end of
    Monday's night (00:00 → 06:00 less the break: 330 minutes) and the start of Tuesday's (22:00 → 24:00: 120)."""
    night_plant = await make_plant(api, supervisor)
    await make_shift(api, supervisor, night_plant, "Night Shift", "22:00", "06:00",
                     ["sunday", "monday", "tuesday", "wednesday", "thursday"])
    await make_shift(api, supervisor, night_plant, "Retired Shift", "08:00", "16:00", WEEKDAYS, is_active=False)
    owl = await make_machine(api, supervisor, night_plant)
    write_history(session_factory, owl["id"], [(at(2025, 11, 3, 23), "running", None),
                                               (at(2025, 11, 4, 3), "down", "operator_unavailable"),
                                               (at(2025, 11, 4, 4), "running", None),
                                               (at(2025, 11, 5, 6), "available", None)])
    answer = ok(await api.get(f"{V1}/machines/{owl['id']}/utilization", headers=supervisor.headers,
                              params={"start_date": "2025-11-04", "end_date": "2025-11-04"}))
    assert usage_of(answer) == (450, 390, 60, 0, 86.67)  # 390 / 450
    assert answer["downtime_breakdown"] == [{"reason": "Operator Unavailable", "minutes": 60, "occurrences": 1}]

    # no shifts: the whole day, 1440 minutes; running 12 h, down 6 h (electrical), running 6 h more
    calendar_plant = await make_plant(api, supervisor)
    lathe = await make_machine(api, supervisor, calendar_plant)
    write_history(session_factory, lathe["id"], [(at(2025, 11, 5), "running", None),
                                                 (at(2025, 11, 5, 12), "down", "electrical_failure"),
                                                 (at(2025, 11, 5, 18), "running", None),
                                                 (at(2025, 11, 6), "available", None)])
    day = ok(await api.get(f"{V1}/machines/{lathe['id']}/utilization", headers=supervisor.headers,
                           params={"start_date": "2025-11-05", "end_date": "2025-11-05"}))
    assert usage_of(day) == (1440, 1080, 360, 0, 75)

    # a period reaching today stops at now: nothing after it is available
    today = datetime.now(UTC)
    now_answer = ok(await api.get(f"{V1}/machines/{lathe['id']}/utilization", headers=supervisor.headers,
                                  params={"start_date": today.date().isoformat(),
                                          "end_date": (today + timedelta(days=30)).date().isoformat()}))
    assert now_answer["metrics"]["available_time_minutes"] <= today.hour * 60 + today.minute + 1


async def test_refused_periods(api, supervisor, make_user):
    machine = await make_machine(api, supervisor, await make_plant(api, supervisor))
    url = f"{V1}/machines/{machine['id']}/utilization"
    refused(await api.get(url, params={"start_date": "2025-11-06", "end_date": "2025-11-01"},
                          headers=supervisor.headers),
            "start_date", "start_date 2025-11-06 is after end_date 2025-11-01")
    refused(await api.get(url, params={"start_date": "2024-01-01", "end_date": "2025-01-01"},
                          headers=supervisor.headers), "end_date", "A period covers at most 366 days")
    missing = await api.get(url, params={"start_date": "2025-11-01"}, headers=supervisor.headers)
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "query.end_date"
    unknown = await api.get(f"{V1}/machines/2147483647/utilization", headers=supervisor.headers,
                            params={"start_date": "2025-11-01", "end_date": "2025-11-06"})
    assert unknown.status_code == 404
    denied = await api.get(url, params={"start_date": "2025-11-01", "end_date": "2025-11-06"},
                           headers=(await make_user("technician")).headers)
    assert denied.status_code == 403
    earliest = ok(await api.get(url, params={"start_date": "0001-01-01", "end_date": "0001-01-05"},
                                headers=supervisor.headers))
    assert earliest["metrics"]["productive_time_minutes"] == 0
