"""audit rows record where a change came from: the caller's IP and the request

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 18:05:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('system_audit_trail', sa.Column('ip_address', sa.String(length=100), nullable=True))
    op.add_column('system_audit_trail', sa.Column('request', sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column('system_audit_trail', 'request')
    op.drop_column('system_audit_trail', 'ip_address')
