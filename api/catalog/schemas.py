"""Master-data bodies and views: aerospace categories, materials, parts, suppliers, certifications, and the
ERP material body (`material_code`, `standard_cost`, stock levels, `custom_fields`) on the same path.
Decimals inside, JSON numbers outside; dates ISO; timestamps with `Z`.

Answers are `…Out` models, the routes' response models: the `*_out` builders return them and FastAPI
serialises them (an instance of the declared model is not validated again)."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from api.contracts.types import INT4_MAX, DbId, PageNumber, SafeBody
from api.contracts.wire import AerospacePage, Money, UtcDateTime, VersionedBody, WireModel
from models.catalog import (
    Certification,
    Material,
    MaterialCategory,
    MaterialCertification,
    Part,
    PartMaterial,
    Supplier,
    SupplierMaterial,
)
from services.catalog.master_data import (
    CertificationStatus,
    CertificationType,
    MaterialStatus,
    MaterialType,
    PartCriticality,
    PartStatus,
    SupplierStatus,
    SupplierTier,
)

MAX_ID = INT4_MAX  # PostgreSQL integer (api/contracts/types.py)
MAX_PAGE_SIZE = 100
Id = DbId
PathId = Annotated[DbId, Path()]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Code = Annotated[str, Field(min_length=1, max_length=100)]
Short = Annotated[str, Field(max_length=20)]
Text = Annotated[str, Field(max_length=10_000)]
Price = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Quantity = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3)]
Measure = Annotated[Decimal, Field(max_digits=12, decimal_places=3)]
Rating = Annotated[Decimal, Field(ge=0, le=5, max_digits=3, decimal_places=2)]
Days = Annotated[int, Field(ge=0, le=100_000)]


class Body(SafeBody):
    """Unknown fields ignored, strings stripped, enums held as their plain values (what the columns store)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, use_enum_values=True)


class Versioned(VersionedBody):
    """An update body: may carry the `version` its caller last saw."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, use_enum_values=True)


class Paging:
    """Aerospace `page` and `page_size`, capped."""

    def __init__(self, page: Annotated[PageNumber, Query()] = 1,
                 page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE)):
        self.page, self.size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


class DeletedOut(WireModel):
    """The answer of a DELETE: `{"message": "Part 7 deleted", "id": 7}`."""

    message: str
    id: int


def deleted(label: str, entity_id: int) -> DeletedOut:
    return DeletedOut(message=f"{label} {entity_id} deleted", id=entity_id)


def _same(value: Any, info: ValidationInfo, other: str) -> Any:
    """Two contracts' names for one column: given both, they must agree."""
    given = info.data.get(other)
    if value is not None and given is not None and value != given:
        raise ValueError(f"{info.field_name} and {other} name the same value and must agree")
    return value


# --- categories -----------------------------------------------------------------------------------------

class CategoryUpdate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    code: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    description: Text | None = None
    parent_id: Id | None = None


class CategoryCreate(CategoryUpdate):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str, Field(min_length=1, max_length=50)]


class CategoryOut(WireModel):
    id: int
    name: str
    code: str
    description: str | None
    parent_id: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


def category_out(category: MaterialCategory) -> CategoryOut:
    return CategoryOut.model_validate(category)


# --- materials ------------------------------------------------------------------------------------------

class MaterialFields(Body):
    """Every field of both bodies: `part_number` = `material_code` (column `code`), `unit_cost` =
    `standard_cost` (column `unit_cost`)."""

    name: Name | None = None
    part_number: Code | None = None
    material_code: Code | None = None
    specification: Name | None = None
    material_type: MaterialType | None = None
    category_id: Id | None = None
    status: MaterialStatus | None = None
    density: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] | None = None
    tensile_strength: Measure | None = None
    yield_strength: Measure | None = None
    hardness: Measure | None = None
    melting_point: Measure | None = None
    description: Text | None = None
    mil_spec: Code | None = None
    ams_spec: Code | None = None
    is_hazardous: bool | None = None
    shelf_life_days: Days | None = None
    storage_requirements: Text | None = None
    unit_cost: Price | None = None
    standard_cost: Price | None = None
    unit_of_measure: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    minimum_order_quantity: Quantity | None = None
    minimum_stock_level: Quantity | None = None
    maximum_stock_level: Quantity | None = None
    reorder_point: Quantity | None = None
    custom_fields: dict[str, Any] | None = None

    @field_validator("material_code")
    @classmethod
    def _one_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _same(value, info, "part_number")

    @field_validator("standard_cost")
    @classmethod
    def _one_cost(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        return _same(value, info, "unit_cost")

    def columns(self) -> dict[str, Any]:
        """The given fields under the column names."""
        values = self.model_dump(exclude_unset=True, exclude={"version"})
        for alias, column in (("part_number", "code"), ("material_code", "code"), ("standard_cost", "unit_cost")):
            if alias in values:
                value = values.pop(alias)
                if value is not None or column not in values:
                    values[column] = value
        return values


class MaterialCreate(MaterialFields):
    name: Name


class MaterialUpdate(Versioned, MaterialFields):
    pass


class CategoryRef(WireModel):
    id: int
    name: str
    code: str


class MaterialOut(WireModel):
    id: int
    name: str
    part_number: str
    material_code: str
    specification: str | None
    material_type: str
    category_id: int | None
    category_name: str | None
    status: str
    density: Money | None
    tensile_strength: Money | None
    yield_strength: Money | None
    hardness: Money | None
    melting_point: Money | None
    description: str | None
    mil_spec: str | None
    ams_spec: str | None
    is_hazardous: bool
    shelf_life_days: int | None
    storage_requirements: str | None
    unit_cost: Money | None
    standard_cost: Money | None
    unit_of_measure: str
    minimum_order_quantity: Money | None
    minimum_stock_level: Money | None
    maximum_stock_level: Money | None
    reorder_point: Money | None
    barcode_url: str | None
    custom_fields: dict[str, Any]
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    category: CategoryRef | None


class MaterialPage(AerospacePage[MaterialOut]):
    """`GET /materials`: both contracts' list at once, the aerospace page and the ERP's `materials`/`per_page`
    (the same items twice)."""

    materials: list[MaterialOut]
    per_page: int


class MaterialRef(WireModel):
    """The material a bill-of-materials line or a catalogue entry names."""

    id: int
    part_number: str
    material_code: str
    name: str
    unit_of_measure: str


def material_out(material: Material, category: MaterialCategory | None) -> MaterialOut:
    derived = {"part_number": material.code, "material_code": material.code, "standard_cost": material.unit_cost,
               "category_name": category.name if category else None, "custom_fields": material.custom_fields or {},
               "category": CategoryRef.model_validate(category) if category else None}
    values = {field: getattr(material, field) for field in MaterialOut.model_fields if field not in derived}
    values.update(derived)
    return MaterialOut.model_validate(values)


def material_ref(material: Material) -> MaterialRef:
    return MaterialRef(id=material.id, part_number=material.code, material_code=material.code, name=material.name,
                       unit_of_measure=material.unit_of_measure)


# --- parts and their bill of materials ------------------------------------------------------------------

class PartFields(Body):
    name: Name | None = None
    part_number: Code | None = None
    revision: Short | None = None
    status: PartStatus | None = None
    criticality: PartCriticality | None = None
    description: Text | None = None
    drawing_number: Code | None = None
    weight: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3)] | None = None
    weight_unit: Short | None = None
    is_serialized: bool | None = None
    requires_inspection: bool | None = None
    inspection_interval_hours: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    unit_cost: Price | None = None
    lead_time_days: Days | None = None


class PartCreate(PartFields):
    name: Name
    part_number: Code


class PartUpdate(Versioned, PartFields):
    pass


class PartOut(WireModel):
    id: int
    name: str
    part_number: str
    revision: str | None
    status: str
    criticality: str
    description: str | None
    drawing_number: str | None
    weight: Money | None
    weight_unit: str | None
    is_serialized: bool
    requires_inspection: bool
    inspection_interval_hours: int | None
    unit_cost: Money | None
    lead_time_days: int | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


def part_out(part: Part) -> PartOut:
    return PartOut.model_validate(part)


class PartMaterialCreate(Body):
    part_id: Id | None = None
    material_id: Id
    quantity_required: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=3)]
    unit_of_measure: Short | None = None
    is_primary: bool = False
    notes: Text | None = None


class PartMaterialOut(WireModel):
    id: int
    part_id: int
    material_id: int
    quantity_required: Money
    unit_of_measure: str | None
    is_primary: bool
    notes: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    material: MaterialRef


def part_material_out(line: PartMaterial, material: Material) -> PartMaterialOut:
    values = {field: getattr(line, field) for field in PartMaterialOut.model_fields if field != "material"}
    return PartMaterialOut.model_validate({**values, "material": material_ref(material)})


class MaterialRemovedOut(WireModel):
    """`DELETE /parts/{part_id}/materials/{material_id}`."""

    message: str
    part_id: int
    material_id: int


# --- suppliers and their catalogue ----------------------------------------------------------------------

class SupplierFields(Body):
    name: Name | None = None
    code: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    status: SupplierStatus | None = None
    tier: SupplierTier | None = None
    contact_name: Name | None = None
    contact_email: Annotated[EmailStr, Field(max_length=255)] | None = None
    contact_phone: Annotated[str, Field(max_length=50)] | None = None
    address_line_1: Name | None = None
    address_line_2: Name | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    state: Annotated[str, Field(max_length=100)] | None = None
    postal_code: Annotated[str, Field(max_length=30)] | None = None
    country: Annotated[str, Field(max_length=100)] | None = None
    is_as9100_certified: bool | None = None
    is_nadcap_certified: bool | None = None
    is_itar_compliant: bool | None = None
    cage_code: Short | None = None
    quality_rating: Rating | None = None
    delivery_rating: Rating | None = None
    notes: Text | None = None


class SupplierCreate(SupplierFields):
    name: Name
    code: Annotated[str, Field(min_length=1, max_length=50)]


class SupplierUpdate(Versioned, SupplierFields):
    pass


class SupplierOut(WireModel):
    id: int
    name: str
    code: str
    status: str
    tier: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    address_line_1: str | None
    address_line_2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None
    is_as9100_certified: bool
    is_nadcap_certified: bool
    is_itar_compliant: bool
    cage_code: str | None
    quality_rating: Money | None
    delivery_rating: Money | None
    notes: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


def supplier_out(supplier: Supplier) -> SupplierOut:
    return SupplierOut.model_validate(supplier)


class SupplierMaterialCreate(Body):
    supplier_id: Id | None = None
    material_id: Id
    supplier_part_number: Code | None = None
    unit_price: Price | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    minimum_order_quantity: Quantity | None = None
    lead_time_days: Days | None = None
    is_preferred: bool = False
    notes: Text | None = None


class SupplierMaterialOut(WireModel):
    id: int
    supplier_id: int
    material_id: int
    supplier_part_number: str | None
    unit_price: Money | None
    currency: str
    minimum_order_quantity: Money | None
    lead_time_days: int | None
    is_preferred: bool
    notes: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    material: MaterialRef


def supplier_material_out(entry: SupplierMaterial, material: Material) -> SupplierMaterialOut:
    values = {field: getattr(entry, field) for field in SupplierMaterialOut.model_fields if field != "material"}
    return SupplierMaterialOut.model_validate({**values, "material": material_ref(material)})


# --- certifications and their links ---------------------------------------------------------------------

class CertificationFields(Body):
    name: Name | None = None
    code: Code | None = None
    certification_type: CertificationType | None = None
    status: CertificationStatus | None = None
    issuing_authority: Name | None = None
    certificate_number: Code | None = None
    issue_date: date | None = None
    expiration_date: date | None = None
    last_audit_date: date | None = None
    next_audit_date: date | None = None
    description: Text | None = None
    scope: Text | None = None
    document_url: Annotated[str, Field(max_length=500)] | None = None
    notes: Text | None = None


class CertificationCreate(CertificationFields):
    name: Name
    code: Code
    certification_type: CertificationType


class CertificationUpdate(Versioned, CertificationFields):
    pass


class CertificationOut(WireModel):
    id: int
    name: str
    code: str
    certification_type: str
    status: str
    issuing_authority: str | None
    certificate_number: str | None
    issue_date: date | None
    expiration_date: date | None
    last_audit_date: date | None
    next_audit_date: date | None
    description: str | None
    scope: str | None
    document_url: str | None
    notes: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


def certification_out(certification: Certification) -> CertificationOut:
    return CertificationOut.model_validate(certification)


class LinkUpdate(Body):
    is_mandatory: bool | None = None
    is_verified: bool | None = None
    verified_date: date | None = None
    verified_by: Name | None = None
    verification_document: Annotated[str, Field(max_length=500)] | None = None
    notes: Text | None = None


class LinkCreate(LinkUpdate):
    material_id: Id
    certification_id: Id


class LinkOut(WireModel):
    id: int
    material_id: int
    certification_id: int
    is_mandatory: bool
    is_verified: bool
    verified_date: date | None
    verified_by: str | None
    verification_document: str | None
    notes: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


def link_out(link: MaterialCertification) -> LinkOut:
    return LinkOut.model_validate(link)
