"""purchase orders name the workflow type of their lifecycle: existing ones `PurchaseOrder` (approval and
goods receipts in workflows of their own), new ones `PurchaseOrderV2` (all in the PO's workflow)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('purchase_orders', sa.Column('workflow_type', sa.String(length=40), nullable=False,
                                               server_default='PurchaseOrder'))
    op.alter_column('purchase_orders', 'workflow_type', server_default='PurchaseOrderV2')


def downgrade() -> None:
    op.drop_column('purchase_orders', 'workflow_type')
