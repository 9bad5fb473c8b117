"""The item master and its neighbours: categories, materials (aerospace materials = ERP materials =
stock items, one row keyed by `code`), parts with their bill of materials, suppliers with their
catalogue, certifications and their links to materials."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, IdMixin, TimestampMixin, VersionMixin

Quantity = Numeric(14, 3)
Money = Numeric(14, 2)


class MaterialCategory(IdMixin, TimestampMixin, Base):
    __tablename__ = "material_categories"

    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("material_categories.id"), index=True)


class Material(IdMixin, TimestampMixin, VersionMixin, Base):
    """One item master: `code` is the aerospace `part_number`, the ERP `material_code`, the stock `code`;
    `unit_cost` is also the ERP `standard_cost`."""

    __tablename__ = "materials"

    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    specification: Mapped[str | None] = mapped_column(String(255))
    material_type: Mapped[str] = mapped_column(String(30), default="other")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("material_categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default="active", index=True)
    density: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    tensile_strength: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    yield_strength: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    hardness: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    melting_point: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    description: Mapped[str | None] = mapped_column(Text)
    mil_spec: Mapped[str | None] = mapped_column(String(100))
    ams_spec: Mapped[str | None] = mapped_column(String(100))
    is_hazardous: Mapped[bool] = mapped_column(default=False)
    shelf_life_days: Mapped[int | None]
    storage_requirements: Mapped[str | None] = mapped_column(Text)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    unit_of_measure: Mapped[str] = mapped_column(String(20), default="ea")
    minimum_order_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    minimum_stock_level: Mapped[Decimal | None] = mapped_column(Quantity)
    maximum_stock_level: Mapped[Decimal | None] = mapped_column(Quantity)
    reorder_point: Mapped[Decimal | None] = mapped_column(Quantity)
    barcode_url: Mapped[str | None] = mapped_column(String(500))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    sub_category: Mapped[str | None] = mapped_column(String(100))  # the stock contract's `sub_category`

    category: Mapped[MaterialCategory | None] = relationship(lazy="raise")


class Part(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "parts"

    part_number: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    revision: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), default="design", index=True)
    criticality: Mapped[str] = mapped_column(String(30), default="standard")
    description: Mapped[str | None] = mapped_column(Text)
    drawing_number: Mapped[str | None] = mapped_column(String(100))
    weight: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    weight_unit: Mapped[str | None] = mapped_column(String(20))
    is_serialized: Mapped[bool] = mapped_column(default=False)
    requires_inspection: Mapped[bool] = mapped_column(default=False)
    inspection_interval_hours: Mapped[int | None]
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    lead_time_days: Mapped[int | None]
    # A product of the ERP (`/api/v1/products`): a part the plant makes, with a routing (models/mes.py)
    unit_of_measure: Mapped[str | None] = mapped_column(String(20))
    is_product: Mapped[bool] = mapped_column(default=False, server_default=false())


class PartMaterial(IdMixin, TimestampMixin, Base):
    """A bill-of-materials line: how much of a material one part needs."""

    __tablename__ = "part_materials"
    __table_args__ = (UniqueConstraint("part_id", "material_id", name="uq_part_materials_part_material"),)

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    quantity_required: Mapped[Decimal] = mapped_column(Quantity)
    unit_of_measure: Mapped[str | None] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)


class Supplier(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "suppliers"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30), default="pending_approval", index=True)
    tier: Mapped[str | None] = mapped_column(String(20))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    address_line_1: Mapped[str | None] = mapped_column(String(255))
    address_line_2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(30))
    country: Mapped[str | None] = mapped_column(String(100))
    is_as9100_certified: Mapped[bool] = mapped_column(default=False)
    is_nadcap_certified: Mapped[bool] = mapped_column(default=False)
    is_itar_compliant: Mapped[bool] = mapped_column(default=False)
    cage_code: Mapped[str | None] = mapped_column(String(20))
    quality_rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    delivery_rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    notes: Mapped[str | None] = mapped_column(Text)


class SupplierMaterial(IdMixin, TimestampMixin, Base):
    """A supplier's catalogue entry for a material."""

    __tablename__ = "supplier_materials"
    __table_args__ = (UniqueConstraint("supplier_id", "material_id", name="uq_supplier_materials_supplier_material"),)

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    supplier_part_number: Mapped[str | None] = mapped_column(String(100))
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    minimum_order_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    lead_time_days: Mapped[int | None]
    is_preferred: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)


class Certification(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "certifications"

    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    certification_type: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(30), default="active", index=True)
    issuing_authority: Mapped[str | None] = mapped_column(String(255))
    certificate_number: Mapped[str | None] = mapped_column(String(100))
    issue_date: Mapped[date | None] = mapped_column(Date)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    last_audit_date: Mapped[date | None] = mapped_column(Date)
    next_audit_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    document_url: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)


class MaterialCertification(IdMixin, TimestampMixin, Base):
    __tablename__ = "material_certifications"
    __table_args__ = (UniqueConstraint("material_id", "certification_id",
                                       name="uq_material_certifications_material_certification"),)

    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id"), index=True)
    is_mandatory: Mapped[bool] = mapped_column(default=False)
    is_verified: Mapped[bool] = mapped_column(default=False)
    verified_date: Mapped[date | None] = mapped_column(Date)
    verified_by: Mapped[str | None] = mapped_column(String(255))
    verification_document: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
