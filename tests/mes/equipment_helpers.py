"""What the ERP equipment tests share: plants, machines and shifts made through the API, and status history and
downtime written straight into the database at fixed past times (so figures do not depend on the clock)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from models.mes.equipment import DowntimeEvent, DowntimeReason, Machine, MachineStatusChange
from tests.conftest import TestUser, unique
from tests.mes.helpers import V1, ok


async def make_plant(api: httpx.AsyncClient, user: TestUser, name: str = "Fabrication Plant") -> dict[str, Any]:
    return ok(await api.post(f"{V1}/plants", headers=user.headers, json={"code": unique("PLT"), "name": name}), 201)


async def make_machine(api: httpx.AsyncClient, user: TestUser, plant: dict[str, Any], capacity: float = 50,
                       name: str = "CNC Lathe Machine") -> dict[str, Any]:
    body = {"machine_code": unique("CNC"), "name": name, "plant_id": plant["id"], "capacity_units_per_hour": capacity}
    return ok(await api.post(f"{V1}/machines", headers=user.headers, json=body), 201)


async def make_shift(api: httpx.AsyncClient, user: TestUser, plant: dict[str, Any], name: str, start: str, end: str,
                     days: Sequence[str], break_minutes: int = 30, target: int = 400,
                     **fields: Any) -> dict[str, Any]:
    body = {"plant_id": plant["id"], "name": name, "start_time": start, "end_time": end,
            "break_duration_minutes": break_minutes, "active_days": list(days), "production_target_units": target,
            "oee_target_percent": 85, **fields}
    return ok(await api.post(f"{V1}/shifts", headers=user.headers, json=body), 201)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def write_history(factory: sessionmaker[Session], machine_id: int,
                  changes: Sequence[tuple[datetime, str, str | None]]) -> None:
    """Status changes of a machine at past times (`(at, status, reason_code)`), as the status route writes them."""
    with session_scope(factory) as session:
        previous = None
        for changed_at, status, reason in sorted(changes, key=lambda c: c[0]):
            session.add(MachineStatusChange(machine_id=machine_id, from_status=previous, to_status=status,
                                            reason_code=reason, changed_at=changed_at))
            previous = status


def write_event(factory: sessionmaker[Session], machine_id: int, reason_code: str, started: datetime,
                ended: datetime) -> None:
    """A logged downtime event of a machine at past times."""
    with session_scope(factory) as session:
        reason_id = session.query(DowntimeReason.id).filter(DowntimeReason.code == reason_code).scalar()
        session.add(DowntimeEvent(machine_id=machine_id, reason_id=reason_id, started_at=started, ended_at=ended,
                                  source="logged"))


def refused(response: httpx.Response, field: str, message: str) -> None:
    """The ERP contract's validation failure naming one field."""
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "Validation failed", "details": [{"field": field, "message": message}]}


def machine_state(factory: sessionmaker[Session], machine_id: int) -> tuple[Any, ...]:
    """Everything a status change or a logged event writes about a machine: its row, history and events."""
    with session_scope(factory) as session:
        machine = session.get(Machine, machine_id)
        assert machine is not None
        history = session.scalar(select(func.count()).where(MachineStatusChange.machine_id == machine_id))
        events = session.execute(select(DowntimeEvent.id, DowntimeEvent.ended_at)
                                 .where(DowntimeEvent.machine_id == machine_id).order_by(DowntimeEvent.id)).all()
        return machine.status, machine.version, history, [tuple(e) for e in events]
