"""NCR types (`Process Deviation`, `Material Defect`, …): the kinds of non-conformance an inspector picks when
raising an NCR report. Quality managers add them; names are unique whatever their case. Never commits."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.quality import NcrType
from services import audit
from services.common.guards import field_error


def list_types(session: Session, offset: int, limit: int) -> tuple[list[NcrType], int]:
    total = session.scalar(select(func.count(NcrType.id))) or 0
    rows = session.scalars(select(NcrType).order_by(NcrType.id).offset(offset).limit(limit))
    return list(rows), total


def create_type(session: Session, actor_id: int, name: str, description: str | None) -> NcrType:
    """A new NCR type; a name already taken (in any case) is refused, naming the field."""
    if session.scalar(select(NcrType.id).where(func.lower(NcrType.name) == name.lower())) is not None:
        raise field_error("name", f"NCR type {name} already exists")
    ncr_type = NcrType(name=name, description=description, is_active=True)
    session.add(ncr_type)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="ncr_type", entity_id=ncr_type.id,
                 action_type="NCR_TYPE_CREATED", payload_diff=audit.created({"name": name, "description": description}))
    return ncr_type


def type_by_id(session: Session, ncr_type_id: int, field: str = "ncr_type_id") -> NcrType:
    """An active NCR type, or the refusal naming `field`."""
    ncr_type = session.get(NcrType, ncr_type_id)
    if ncr_type is None or not ncr_type.is_active:
        raise field_error(field, f"NCR type {ncr_type_id} not found")
    return ncr_type


def type_named(session: Session, name: str) -> NcrType:
    """An active NCR type by its name (any case), as other areas name it (`Inspection Failure`)."""
    ncr_type = session.scalar(select(NcrType).where(func.lower(NcrType.name) == name.lower(),
                                                    NcrType.is_active.is_(True)))
    if ncr_type is None:
        raise field_error("ncr_type", f"NCR type {name} not found")
    return ncr_type
