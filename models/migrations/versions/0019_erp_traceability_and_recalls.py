"""ERP traceability and recalls: lots, product serials, material consumption, customers, shipments, recall reports
and their notices

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 03:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('contact_phone', sa.String(length=50), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('uid', name=op.f('uq_customers_uid'))
    )
    op.create_table('lots',
    sa.Column('lot_number', sa.String(length=80), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('receipt_date', sa.Date(), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_lots_created_by_id_users')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_lots_material_id_materials')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_lots_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('lot_number', name=op.f('uq_lots_lot_number')),
    sa.UniqueConstraint('uid', name=op.f('uq_lots_uid'))
    )
    op.create_index(op.f('ix_lots_material_id'), 'lots', ['material_id'], unique=False)
    op.create_table('shipments',
    sa.Column('shipment_number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_shipments_created_by_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_shipments_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('shipment_number', name=op.f('uq_shipments_shipment_number')),
    sa.UniqueConstraint('uid', name=op.f('uq_shipments_uid'))
    )
    op.create_index(op.f('ix_shipments_customer_id'), 'shipments', ['customer_id'], unique=False)
    op.create_table('product_serials',
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_product_serials_part_id_parts')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_product_serials_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_serials')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_product_serials_serial_number')),
    sa.UniqueConstraint('uid', name=op.f('uq_product_serials_uid'))
    )
    op.create_index(op.f('ix_product_serials_work_order_id'), 'product_serials', ['work_order_id'], unique=False)
    op.create_table('recall_reports',
    sa.Column('recall_number', sa.String(length=30), nullable=False),
    sa.Column('recall_reason', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('serial_number', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='notifying', nullable=False),
    sa.Column('export_key', sa.String(length=300), nullable=True),
    sa.Column('total_affected_units', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_affected_customers', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('generated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_recall_reports_created_by_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_recall_reports_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall_reports')),
    sa.UniqueConstraint('recall_number', name=op.f('uq_recall_reports_recall_number')),
    sa.UniqueConstraint('uid', name=op.f('uq_recall_reports_uid'))
    )
    op.create_table('material_consumptions',
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('component_serial_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('consumed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['component_serial_id'], ['product_serials.id'], name=op.f('fk_material_consumptions_component_serial_id_product_serials')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_material_consumptions_lot_id_lots')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_material_consumptions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_material_consumptions_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_consumptions')),
    sa.UniqueConstraint('component_serial_id', name=op.f('uq_material_consumptions_component_serial_id')),
    sa.UniqueConstraint('uid', name=op.f('uq_material_consumptions_uid'))
    )
    op.create_index(op.f('ix_material_consumptions_lot_id'), 'material_consumptions', ['lot_id'], unique=False)
    op.create_index(op.f('ix_material_consumptions_work_order_id'), 'material_consumptions', ['work_order_id'], unique=False)
    op.create_table('recall_notices',
    sa.Column('recall_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('products_shipped', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_recall_notices_customer_id_customers')),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_recall_notices_notification_id_notifications')),
    sa.ForeignKeyConstraint(['recall_id'], ['recall_reports.id'], name=op.f('fk_recall_notices_recall_id_recall_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall_notices')),
    sa.UniqueConstraint('uid', name=op.f('uq_recall_notices_uid'))
    )
    op.create_index(op.f('ix_recall_notices_recall_id'), 'recall_notices', ['recall_id'], unique=False)
    op.create_table('shipment_items',
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('product_serial_id', sa.Integer(), nullable=True),
    sa.Column('work_order_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['product_serial_id'], ['product_serials.id'], name=op.f('fk_shipment_items_product_serial_id_product_serials')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_items_shipment_id_shipments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_shipment_items_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_items')),
    sa.UniqueConstraint('product_serial_id', name=op.f('uq_shipment_items_product_serial_id')),
    sa.UniqueConstraint('uid', name=op.f('uq_shipment_items_uid'))
    )
    op.create_index(op.f('ix_shipment_items_shipment_id'), 'shipment_items', ['shipment_id'], unique=False)
    op.create_index(op.f('ix_shipment_items_work_order_id'), 'shipment_items', ['work_order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_shipment_items_work_order_id'), table_name='shipment_items')
    op.drop_index(op.f('ix_shipment_items_shipment_id'), table_name='shipment_items')
    op.drop_table('shipment_items')
    op.drop_index(op.f('ix_recall_notices_recall_id'), table_name='recall_notices')
    op.drop_table('recall_notices')
    op.drop_index(op.f('ix_material_consumptions_work_order_id'), table_name='material_consumptions')
    op.drop_index(op.f('ix_material_consumptions_lot_id'), table_name='material_consumptions')
    op.drop_table('material_consumptions')
    op.drop_table('recall_reports')
    op.drop_index(op.f('ix_product_serials_work_order_id'), table_name='product_serials')
    op.drop_table('product_serials')
    op.drop_index(op.f('ix_shipments_customer_id'), table_name='shipments')
    op.drop_table('shipments')
    op.drop_index(op.f('ix_lots_material_id'), table_name='lots')
    op.drop_table('lots')
    op.drop_table('customers')
