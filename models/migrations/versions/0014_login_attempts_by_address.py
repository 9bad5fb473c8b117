"""login attempts by caller address: the per-address login throttle counts an address's recent failures

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_login_attempts_ip_address_at', 'login_attempts', ['ip_address', 'login_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempts_ip_address_at', table_name='login_attempts')
