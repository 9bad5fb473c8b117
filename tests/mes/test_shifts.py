"""ERP shift patterns (manufacturing-erp.md §6.6 `GET /api/v1/shifts`; the create is an addition): the contract's
two shifts created and listed as written, the filters, every refusal naming its field with nothing written, who may
define shifts."""

from typing import Any

import pytest

from tests.conftest import MakeUser, TestUser
from tests.mes.equipment_helpers import make_plant, make_shift, refused
from tests.mes.helpers import V1, ok

SHIFTS = f"{V1}/shifts"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
NIGHTS = ["sunday", "monday", "tuesday", "wednesday", "thursday"]


@pytest.fixture
async def supervisor(make_user: MakeUser) -> TestUser:
    return await make_user("supervisor")


async def test_the_contract_shifts_are_created_and_listed(api, supervisor, make_user):
    plant = await make_plant(api, supervisor)
    day = await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS, target=400)
    night = await make_shift(api, supervisor, plant, "Night Shift", "22:00", "06:00", NIGHTS, target=350,
                             oee_target_percent=80)
    assert day == {"id": day["id"], "plant_id": plant["id"], "name": "Day Shift", "start_time": "06:00",
                   "end_time": "14:00", "break_duration_minutes": 30, "active_days": WEEKDAYS,
                   "production_target_units": 400, "oee_target_percent": 85, "is_active": True}
    assert night["start_time"] == "22:00" and night["end_time"] == "06:00" and night["oee_target_percent"] == 80
    assert night["active_days"] == ["monday", "tuesday", "wednesday", "thursday", "sunday"]  # in week order

    viewer = await make_user("viewer")
    listed = ok(await api.get(SHIFTS, params={"plant_id": plant["id"]}, headers=viewer.headers))
    assert listed == {"shifts": [day, night], "total": 2, "page": 1, "per_page": 50}


async def test_inactive_shifts_are_left_out_when_asked(api, supervisor):
    plant = await make_plant(api, supervisor)
    day = await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS)
    retired = await make_shift(api, supervisor, plant, "Weekend Shift", "08:00", "16:00", ["saturday"],
                               is_active=False)

    def ids(page: dict[str, Any]) -> list[int]:
        return [s["id"] for s in page["shifts"]]

    assert ids(ok(await api.get(SHIFTS, params={"plant_id": plant["id"]}, headers=supervisor.headers))) == [
        day["id"], retired["id"]]
    assert ids(ok(await api.get(SHIFTS, params={"plant_id": plant["id"], "active_only": True},
                                headers=supervisor.headers))) == [day["id"]]


async def test_refused_shifts_name_their_field_and_write_nothing(api, supervisor, make_user):
    plant = await make_plant(api, supervisor)
    await make_shift(api, supervisor, plant, "Day Shift", "06:00", "14:00", WEEKDAYS)
    base = {"plant_id": plant["id"], "name": "Late Shift", "start_time": "14:00", "end_time": "22:00",
            "break_duration_minutes": 30, "active_days": WEEKDAYS, "production_target_units": 380}
    cases = [
        ({**base, "name": "day  shift"}, "name", f"Plant {plant['code']} already has a shift named Day Shift"),
        ({**base, "plant_id": 2_000_000_000}, "plant_id", "Plant 2000000000 not found"),
        ({**base, "end_time": "14:00"}, "end_time", "end_time must differ from start_time"),
        ({**base, "break_duration_minutes": 480}, "break_duration_minutes",
         "The break must be shorter than the shift (480 minutes)"),
    ]
    for body, field, message in cases:
        refused(await api.post(SHIFTS, headers=supervisor.headers, json=body), field, message)
    for body, field in [({**base, "start_time": "6:00"}, "start_time"), ({**base, "end_time": "24:00"}, "end_time"),
                        ({**base, "start_time": 600}, "start_time"),
                        ({**base, "active_days": ["monday", "monday"]}, "active_days"),
                        ({**base, "active_days": ["Monday"]}, "active_days.0"), ({**base, "active_days": []},
                                                                                  "active_days"),
                        ({**base, "oee_target_percent": 101}, "oee_target_percent")]:
        answer = await api.post(SHIFTS, headers=supervisor.headers, json=body)
        assert answer.status_code == 400 and answer.json()["error"] == "Validation failed", answer.text
        assert answer.json()["details"][0]["field"] == field, answer.text
    denied = await api.post(SHIFTS, headers=(await make_user("operator")).headers, json=base)
    assert denied.status_code == 403
    listed = ok(await api.get(SHIFTS, params={"plant_id": plant["id"]}, headers=supervisor.headers))
    assert [s["name"] for s in listed["shifts"]] == ["Day Shift"]
    await make_shift(api, supervisor, plant, "Late Shift", "14:00", "22:00", WEEKDAYS)
