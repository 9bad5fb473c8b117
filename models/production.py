"""Battery-pack production: SKU blueprints, batches, modules with their cell ledger, packs."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, IdMixin, TimestampMixin, VersionMixin


class Sku(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "skus"
    __table_args__ = (Index("uq_skus_sku_code_lower", func.lower(text("sku_code")), unique=True),)

    sku_code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    chemistry: Mapped[str | None] = mapped_column(String(100))
    nominal_voltage_v: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    capacity_ah: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    cells_per_module: Mapped[int]
    modules_per_pack: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)


class Batch(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "batches"

    batch_number: Mapped[str] = mapped_column(String(100), unique=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    target_quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sku: Mapped[Sku] = relationship(lazy="raise")


class Module(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "modules"

    serial_number: Mapped[str] = mapped_column(String(100), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    pack_id: Mapped[int | None] = mapped_column(ForeignKey("packs.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)
    cell_count: Mapped[int] = mapped_column(default=0)
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModuleCell(IdMixin, Base):
    """The module's cell ledger: one row per bound cell, in binding order."""

    __tablename__ = "module_cells"

    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    cell_serial: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int]
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Pack(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "packs"

    serial_number: Mapped[str] = mapped_column(String(100), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", index=True)
    disposition: Mapped[str | None] = mapped_column(String(20))
    disposition_notes: Mapped[str | None] = mapped_column(Text)
    module_count: Mapped[int] = mapped_column(default=0)
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    batch: Mapped[Batch] = relationship(lazy="raise")
