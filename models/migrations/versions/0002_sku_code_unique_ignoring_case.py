"""SKU codes unique regardless of case

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 14:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX uq_skus_sku_code_lower ON skus (lower(sku_code))")


def downgrade() -> None:
    op.execute("DROP INDEX uq_skus_sku_code_lower")
