"""trigram indexes for the purchase-order search (po_number, requisition_number ILIKE '%…%')

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 17:40:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('po_number', 'requisition_number')


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for column in COLUMNS:
        op.create_index(f'ix_purchase_orders_{column}_trgm', 'purchase_orders', [column], unique=False,
                        postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f'ix_purchase_orders_{column}_trgm', table_name='purchase_orders')
