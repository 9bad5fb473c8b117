"""Bodies of the ERP contract's manufacturing records (manufacturing-erp.md): products with their bill of
materials and routing (an addition the contract's work orders need). Numbers are JSON numbers, times UTC with `Z`."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.contracts.types import DbId, SafeBody
from api.contracts.wire import Money, UtcDateTime
from core.settings import get_settings
from services.mes.products import Product, labor_rate

Quantity = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=3)]
Minutes = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Rate = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class Body(SafeBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BomLineIn(Body):
    material_id: DbId
    quantity_per_unit: Quantity


class OperationIn(Body):
    sequence: Annotated[int, Field(ge=1, le=10_000)]
    name: str = Field(min_length=1, max_length=200)
    machine_id: DbId | None = None
    standard_minutes_per_unit: Minutes
    labor_rate_per_hour: Rate | None = None  # none: DEFAULT_LABOR_RATE_PER_HOUR when costs are computed


class ProductCreate(Body):
    """`POST /api/v1/products`: at least one material and one operation (a product is made of something, by
    some work)."""

    product_code: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    name: str = Field(min_length=1, max_length=255)
    unit_of_measure: str = Field(default="ea", min_length=1, max_length=20)
    bom: list[BomLineIn] = Field(min_length=1, max_length=200)
    operations: list[OperationIn] = Field(min_length=1, max_length=100)


class BomLineOut(BaseModel):
    material_id: int
    material_code: str
    material_name: str
    quantity_per_unit: Money
    unit_of_measure: str | None
    standard_cost: Money | None


class OperationOut(BaseModel):
    id: int
    sequence: int
    name: str
    machine_id: int | None
    standard_minutes_per_unit: Money
    labor_rate_per_hour: Money  # the operation's own rate, else the default the costs use
    uses_default_labor_rate: bool


class ProductOut(BaseModel):
    id: int
    product_code: str
    name: str
    unit_of_measure: str | None
    bom: list[BomLineOut]
    operations: list[OperationOut]
    material_cost_per_unit: Money  # Σ BOM quantity × material standard cost
    labor_cost_per_unit: Money  # Σ standard minutes / 60 × the operation's labour rate
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ProductListOut(BaseModel):
    products: list[ProductOut]
    total: int
    page: int
    per_page: int


def product_out(product: Product) -> ProductOut:
    part, default_rate = product.part, get_settings().default_labor_rate_per_hour
    return ProductOut(
        id=part.id, product_code=part.part_number, name=part.name, unit_of_measure=part.unit_of_measure,
        bom=[BomLineOut(material_id=line.material_id, material_code=line.material_code,
                        material_name=line.material_name, quantity_per_unit=line.quantity_per_unit,
                        unit_of_measure=line.unit_of_measure, standard_cost=line.standard_cost)
             for line in product.bom],
        operations=[OperationOut(id=op.id, sequence=op.sequence, name=op.name, machine_id=op.machine_id,
                                 standard_minutes_per_unit=op.standard_minutes_per_unit,
                                 labor_rate_per_hour=labor_rate(op, default_rate),
                                 uses_default_labor_rate=op.labor_rate_per_hour is None)
                    for op in product.operations],
        material_cost_per_unit=product.material_cost_per_unit.quantize(Decimal("0.01")),
        labor_cost_per_unit=product.labor_cost_per_unit.quantize(Decimal("0.01")),
        created_at=part.created_at, updated_at=part.updated_at)
