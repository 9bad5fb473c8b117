"""notification delivery attempts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('notifications', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('notifications', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_notifications_status'), 'notifications', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notifications_status'), table_name='notifications')
    op.drop_column('notifications', 'next_attempt_at')
    op.drop_column('notifications', 'attempts')
