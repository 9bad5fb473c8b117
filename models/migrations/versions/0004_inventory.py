"""inventory: stock records (one lot of one material at one location) and their ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:02:11.545580
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inventory',
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.String(length=100), nullable=True),
    sa.Column('batch_number', sa.String(length=100), nullable=True),
    sa.Column('serial_number', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('reserved_quantity', sa.Numeric(precision=14, scale=3), server_default='0', nullable=False),
    sa.Column('unit_of_measure', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=100), nullable=True),
    sa.Column('bin_number', sa.String(length=50), nullable=True),
    sa.Column('received_date', sa.Date(), nullable=True),
    sa.Column('manufacture_date', sa.Date(), nullable=True),
    sa.Column('expiration_date', sa.Date(), nullable=True),
    sa.Column('certificate_of_conformance', sa.String(length=100), nullable=True),
    sa.Column('heat_number', sa.String(length=100), nullable=True),
    sa.Column('mill_test_report', sa.String(length=100), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source_key', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("status IN ('available', 'reserved', 'quarantine', 'expired', 'consumed')", name=op.f('ck_inventory_status_known')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_inventory_quantity_not_negative')),
    sa.CheckConstraint('reserved_quantity >= 0 AND reserved_quantity <= quantity', name=op.f('ck_inventory_reserved_within_quantity')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_inventory_material_id_materials'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory')),
    sa.UniqueConstraint('source_key', name=op.f('uq_inventory_source_key')),
    sa.UniqueConstraint('uid', name=op.f('uq_inventory_uid'))
    )
    op.create_index(op.f('ix_inventory_expiration_date'), 'inventory', ['expiration_date'], unique=False)
    op.create_index(op.f('ix_inventory_location'), 'inventory', ['location'], unique=False)
    op.create_index(op.f('ix_inventory_lot_number'), 'inventory', ['lot_number'], unique=False)
    op.create_index(op.f('ix_inventory_material_id'), 'inventory', ['material_id'], unique=False)
    op.create_index(op.f('ix_inventory_status'), 'inventory', ['status'], unique=False)
    op.create_table('inventory_transactions',
    sa.Column('inventory_id', sa.Integer(), nullable=False),
    sa.Column('transaction_type', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit_of_measure', sa.String(length=20), nullable=False),
    sa.Column('reference_number', sa.String(length=100), nullable=True),
    sa.Column('work_order', sa.String(length=100), nullable=True),
    sa.Column('from_location', sa.String(length=100), nullable=True),
    sa.Column('to_location', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('related_inventory_id', sa.Integer(), nullable=True),
    sa.Column('performed_by', sa.Integer(), nullable=True),
    sa.Column('quantity_after', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('reserved_after', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('status_after', sa.String(length=20), nullable=False),
    sa.Column('location_after', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.CheckConstraint("transaction_type IN ('receipt', 'issue', 'transfer', 'adjustment', 'return', 'scrap', 'quarantine', 'release')", name=op.f('ck_inventory_transactions_type_known')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_inventory_transactions_quantity_not_negative')),
    sa.CheckConstraint('quantity_after >= 0 AND reserved_after >= 0 AND reserved_after <= quantity_after', name=op.f('ck_inventory_transactions_balance_valid')),
    sa.ForeignKeyConstraint(['inventory_id'], ['inventory.id'], name=op.f('fk_inventory_transactions_inventory_id_inventory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['performed_by'], ['users.id'], name=op.f('fk_inventory_transactions_performed_by_users')),
    sa.ForeignKeyConstraint(['related_inventory_id'], ['inventory.id'], name=op.f('fk_inventory_transactions_related_inventory_id_inventory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_transactions')),
    sa.UniqueConstraint('uid', name=op.f('uq_inventory_transactions_uid'))
    )
    op.create_index(op.f('ix_inventory_transactions_inventory_id'), 'inventory_transactions', ['inventory_id'], unique=False)
    op.create_index(op.f('ix_inventory_transactions_performed_by'), 'inventory_transactions', ['performed_by'], unique=False)
    op.create_index(op.f('ix_inventory_transactions_transaction_type'), 'inventory_transactions', ['transaction_type'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_inventory_transactions_transaction_type'), table_name='inventory_transactions')
    op.drop_index(op.f('ix_inventory_transactions_performed_by'), table_name='inventory_transactions')
    op.drop_index(op.f('ix_inventory_transactions_inventory_id'), table_name='inventory_transactions')
    op.drop_table('inventory_transactions')
    op.drop_index(op.f('ix_inventory_status'), table_name='inventory')
    op.drop_index(op.f('ix_inventory_material_id'), table_name='inventory')
    op.drop_index(op.f('ix_inventory_lot_number'), table_name='inventory')
    op.drop_index(op.f('ix_inventory_location'), table_name='inventory')
    op.drop_index(op.f('ix_inventory_expiration_date'), table_name='inventory')
    op.drop_table('inventory')
