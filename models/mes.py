"""The ERP's manufacturing records (manufacturing-erp.md): a product's routing. A product itself is a part of the
one item master's neighbourhood (models/catalog.py `Part` with `is_product`), its bill of materials the part's
`part_materials`."""

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin


class RoutingOperation(IdMixin, TimestampMixin, Base):
    """One step of a product's routing, in `sequence` order: where it runs (`machine_id`), its standard time per
    unit, and the labour rate a production log's cost uses (the setting DEFAULT_LABOR_RATE_PER_HOUR when none)."""

    __tablename__ = "routing_operations"
    __table_args__ = (UniqueConstraint("part_id", "sequence", name="uq_routing_operations_part_sequence"),)

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    machine_id: Mapped[int | None]  # the machines table comes with the ERP's equipment (issue 13)
    standard_minutes_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    labor_rate_per_hour: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
