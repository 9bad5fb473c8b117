"""idempotent requests say when the first request's direct write committed (in that write's transaction)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('idempotent_requests', sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('idempotent_requests', 'applied_at')
