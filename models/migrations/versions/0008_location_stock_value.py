"""location stock value: round(on_hand * wac, 2) stored, so stock totals sum a column

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 17:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('location_stock', sa.Column('value', sa.Numeric(),
                                              sa.Computed('round(on_hand * wac, 2)', persisted=True),
                                              nullable=False))


def downgrade() -> None:
    op.drop_column('location_stock', 'value')
