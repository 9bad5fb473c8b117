"""ERP products: a part flagged as a product with its unit of measure, and its routing operations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 01:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('parts', sa.Column('unit_of_measure', sa.String(length=20), nullable=True))
    op.add_column('parts', sa.Column('is_product', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'routing_operations',
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('machine_id', sa.Integer(), nullable=True),
        sa.Column('standard_minutes_per_unit', sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column('labor_rate_per_hour', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_routing_operations_part_id_parts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_operations')),
        sa.UniqueConstraint('part_id', 'sequence', name='uq_routing_operations_part_sequence'),
        sa.UniqueConstraint('uid', name=op.f('uq_routing_operations_uid')),
    )
    op.create_index(op.f('ix_routing_operations_part_id'), 'routing_operations', ['part_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_routing_operations_part_id'), table_name='routing_operations')
    op.drop_table('routing_operations')
    op.drop_column('parts', 'is_product')
    op.drop_column('parts', 'unit_of_measure')
