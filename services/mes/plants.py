"""ERP plants (`/api/v1/plants`, an addition the contract's machines and shifts need): a site with a unique code
whose machines and shift patterns the equipment figures group by. Never commits."""

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import not_found
from models.mes.equipment import Plant
from services.catalog import master_data as catalog
from services.common.guards import field_error


def create_plant(session: Session, actor_id: int, values: dict[str, Any]) -> Plant:
    """A new plant; a code another plant has is refused, naming `code`."""
    taken = catalog.duplicate("Plant code", "code", values["code"])
    if catalog.taken(session, Plant.code, values["code"]):
        raise taken
    plant = catalog.insert(session, Plant(code=values["code"], name=values["name"],
                                          is_active=values.get("is_active", True)), taken)
    catalog.record_created(session, actor_id, plant, "plant", "PLANT_CREATED")
    return plant


def list_plants(session: Session, offset: int, limit: int, search: str | None) -> tuple[list[Plant], int]:
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(catalog.contains(search, Plant.code, Plant.name))
    query = select(Plant).where(*conditions)
    return (list(session.scalars(query.order_by(Plant.id).offset(offset).limit(limit))),
            catalog.count(session, select(Plant.id).where(*conditions)))


def get_plant(session: Session, plant_id: int) -> Plant:
    plant = session.get(Plant, plant_id)
    if plant is None:
        raise not_found("Plant", plant_id)
    return plant


def require_plant(session: Session, plant_id: int, field: str = "plant_id") -> Plant:
    """The plant a body names, or the refusal naming `field`."""
    plant = session.get(Plant, plant_id)
    if plant is None:
        raise field_error(field, f"Plant {plant_id} not found")
    return plant
