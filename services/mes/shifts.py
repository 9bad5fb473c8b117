"""ERP shift patterns (manufacturing-erp.md §6.6 `GET /api/v1/shifts`; the create is an addition): a plant's shifts,
each a window of the day (UTC; a shift whose end is not after its start spans midnight and belongs to the day it
starts), the days it runs, its break, its production and OEE targets. Their working time is a plant's available time
(services/mes/utilization.py). Names are unique within a plant as their comparison keys (`Day Shift` → `day_shift`,
services/mes/shift_performance.py). Never commits."""

import re
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import not_found
from models.mes.equipment import Plant, Shift
from services import audit
from services.catalog import master_data as catalog
from services.common.guards import field_error
from services.mes.intervals import DAY_NAMES
from services.mes.utilization import pattern_of


def key_of(name: str) -> str:
    """A shift's name in snake case (`Day Shift` → `day_shift`), as its comparison keys spell it."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "shift"


def create_shift(session: Session, actor_id: int, values: dict[str, Any]) -> Shift:
    """A new shift of a plant; under the plant's row lock (names stay unique however many are made at once) an
    unknown plant, a name another shift of the plant has (as a key), an end equal to the start or a break as long
    as the shift is refused, naming the field."""
    plant = session.scalars(select(Plant).where(Plant.id == values["plant_id"]).with_for_update()).first()
    if plant is None:
        raise field_error("plant_id", f"Plant {values['plant_id']} not found")
    key = key_of(values["name"])
    for name in session.scalars(select(Shift.name).where(Shift.plant_id == plant.id)):
        if key_of(name) == key:
            raise field_error("name", f"Plant {plant.code} already has a shift named {name}")
    if values["end_time"] == values["start_time"]:
        raise field_error("end_time", "end_time must differ from start_time")
    days = sorted(set(values["active_days"]), key=DAY_NAMES.index)
    shift = Shift(plant_id=plant.id, name=values["name"], start_time=values["start_time"],
                  end_time=values["end_time"], break_duration_minutes=values["break_duration_minutes"],
                  active_days=days, production_target_units=values["production_target_units"],
                  oee_target_percent=values.get("oee_target_percent"), is_active=values.get("is_active", True))
    length = pattern_of(shift).length
    if values["break_duration_minutes"] * 60 >= length.total_seconds():
        raise field_error("break_duration_minutes", f"The break must be shorter than the shift "
                                                      f"({int(length.total_seconds() // 60)} minutes)")
    session.add(shift)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="shift", entity_id=shift.id, action_type="SHIFT_CREATED",
                 payload_diff=audit.created({**catalog.columns_of(shift), "start_time": f"{shift.start_time:%H:%M}",
                                             "end_time": f"{shift.end_time:%H:%M}"}))
    return shift


def list_shifts(session: Session, offset: int, limit: int, plant_id: int | None,
                active_only: bool) -> tuple[list[Shift], int]:
    """Shifts by plant, then by start time of day."""
    conditions: list[ColumnElement[bool]] = []
    if plant_id is not None:
        conditions.append(Shift.plant_id == plant_id)
    if active_only:
        conditions.append(Shift.is_active.is_(True))
    rows = session.scalars(select(Shift).where(*conditions).order_by(Shift.plant_id, Shift.start_time, Shift.id)
                           .offset(offset).limit(limit))
    return list(rows), catalog.count(session, select(Shift.id).where(*conditions))


def get_shift(session: Session, shift_id: int) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise not_found("Shift", shift_id)
    return shift
