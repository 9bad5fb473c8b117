"""idempotent requests (a write's fingerprint and first answer per user and key), worker heartbeats
(readiness), and idempotency keys bound to their user (`<user id>:<key>`, so a longer column)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'idempotent_requests',
        sa.Column('principal', sa.String(length=60), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=200), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('principal', 'key', name=op.f('pk_idempotent_requests')),
    )
    op.create_index(op.f('ix_idempotent_requests_started_at'), 'idempotent_requests', ['started_at'])
    op.create_table(
        'worker_heartbeats',
        sa.Column('worker_id', sa.String(length=40), nullable=False),
        sa.Column('task_queue', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=100), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_heartbeats')),
    )
    op.create_index(op.f('ix_worker_heartbeats_task_queue'), 'worker_heartbeats', ['task_queue'])
    op.alter_column('idempotency_keys', 'key', type_=sa.String(length=250), existing_nullable=False)


def downgrade() -> None:
    op.alter_column('idempotency_keys', 'key', type_=sa.String(length=200), existing_nullable=False)
    op.drop_index(op.f('ix_worker_heartbeats_task_queue'), table_name='worker_heartbeats')
    op.drop_table('worker_heartbeats')
    op.drop_index(op.f('ix_idempotent_requests_started_at'), table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
