"""Initial warehouse schema: raw, staging, quarantine and sync-state layers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 14:22:45.134301
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('store_order_id', sa.String(length=128), nullable=False),
    sa.Column('order_name', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('erp_sale_id', sa.Integer(), nullable=True),
    sa.Column('erp_sale_number', sa.String(length=64), nullable=True),
    sa.Column('store_updated_at', sa.DateTime(timezone=True), nullable=True, comment='the order version last applied to the ERP'),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('store_fulfillment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'held', 'created', 'confirmed', 'cancelled', 'cancel_failed', 'fulfilled', 'failed')", name=op.f('ck_order_ledger_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_ledger')),
    sa.UniqueConstraint('erp_sale_id', name=op.f('uq_order_ledger_erp_sale_id')),
    sa.UniqueConstraint('store', 'store_order_id', name=op.f('uq_order_ledger_store_store_order_id'))
    )
    op.create_index(op.f('ix_order_ledger_state_updated_at'), 'order_ledger', ['state', 'updated_at'], unique=False)
    op.create_table('published_inventory',
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('location_key', sa.String(length=128), nullable=False, comment="the store location's id"),
    sa.Column('quantity', sa.Integer(), nullable=False, comment='available, as last set in or read from the store'),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('store', 'sku', 'location_key', name=op.f('pk_published_inventory'))
    )
    op.create_table('published_variant',
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('store_product_id', sa.String(length=128), nullable=True),
    sa.Column('store_variant_id', sa.String(length=128), nullable=True),
    sa.Column('store_inventory_item_id', sa.String(length=128), nullable=True),
    sa.Column('price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('compare_at_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True, comment='ACTIVE | ARCHIVED | DRAFT as the store has it'),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('store', 'sku', name=op.f('pk_published_variant'))
    )
    op.create_index(op.f('ix_published_variant_store_store_variant_id'), 'published_variant', ['store', 'store_variant_id'], unique=False)
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('record_key', sa.String(length=255), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('failed_expectations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, comment='names of the expectations the row failed'),
    sa.Column('reason', sa.Text(), nullable=False, comment='for people: what is wrong and how to fix it'),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'released', 'superseded', 'expired')", name=op.f('ck_quarantine_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine'))
    )
    op.create_index(op.f('ix_quarantine_source_entity_record_key_status'), 'quarantine', ['source', 'entity', 'record_key', 'status'], unique=False)
    op.create_index(op.f('ix_quarantine_status_quarantined_at'), 'quarantine', ['status', 'quarantined_at'], unique=False)
    op.create_table('raw_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False, comment='erp | store'),
    sa.Column('entity', sa.String(length=32), nullable=False, comment='product | stock_level | order ...'),
    sa.Column('record_key', sa.String(length=255), nullable=False, comment='the natural key, e.g. the SKU'),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True, comment='the Airflow run that extracted it'),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True, comment="the record's modification time in its source"),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_record'))
    )
    op.create_index(op.f('ix_raw_record_source_entity_batch_id'), 'raw_record', ['source', 'entity', 'batch_id'], unique=False)
    op.create_index(op.f('ix_raw_record_source_entity_record_key'), 'raw_record', ['source', 'entity', 'record_key'], unique=False)
    op.create_table('row_error',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False, comment='catalog | orders | fulfillment ...'),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('record_key', sa.String(length=255), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False, comment='e.g. publish_inventory, create_sale'),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('error_kind', sa.String(length=64), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='1', nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.CheckConstraint("status IN ('open', 'resolved', 'given_up')", name=op.f('ck_row_error_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_row_error')),
    sa.UniqueConstraint('flow', 'entity', 'record_key', 'operation', name=op.f('uq_row_error_flow_entity_record_key_operation'))
    )
    op.create_index(op.f('ix_row_error_status_next_attempt_at'), 'row_error', ['status', 'next_attempt_at'], unique=False)
    op.create_table('stg_order',
    sa.Column('store', sa.String(length=64), nullable=False, comment='which store (one per Connection)'),
    sa.Column('store_order_id', sa.String(length=128), nullable=False),
    sa.Column('order_name', sa.String(length=64), nullable=True),
    sa.Column('store_created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('financial_status', sa.String(length=32), nullable=True),
    sa.Column('fulfillment_status', sa.String(length=32), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=64), nullable=True),
    sa.Column('customer_ref', sa.String(length=128), nullable=True, comment="the store's customer id"),
    sa.Column('customer', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True, comment='name and contact, personal data'),
    sa.Column('shipping_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('billing_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('subtotal', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shipping_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('refunded_total', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('requires_shipping', sa.Boolean(), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store', 'store_order_id', name=op.f('pk_stg_order'))
    )
    op.create_index(op.f('ix_stg_order_store_store_updated_at'), 'stg_order', ['store', 'store_updated_at'], unique=False)
    op.create_table('stg_order_line',
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('store_order_id', sa.String(length=128), nullable=False),
    sa.Column('store_line_id', sa.String(length=128), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False, comment='as ordered'),
    sa.Column('current_quantity', sa.Numeric(precision=18, scale=4), nullable=False, comment='after edits, refunds and removals'),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('requires_shipping', sa.Boolean(), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store', 'store_order_id', 'store_line_id', name=op.f('pk_stg_order_line'))
    )
    op.create_index(op.f('ix_stg_order_line_sku'), 'stg_order_line', ['sku'], unique=False)
    op.create_table('stg_product',
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('erp_product_id', sa.Integer(), nullable=False),
    sa.Column('erp_template_id', sa.Integer(), nullable=False),
    sa.Column('template_code', sa.String(length=128), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('image_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('list_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('sale_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('salable', sa.Boolean(), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False, comment='of the fields the store shows'),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', name=op.f('pk_stg_product')),
    sa.UniqueConstraint('erp_product_id', name=op.f('uq_stg_product_erp_product_id'))
    )
    op.create_index(op.f('ix_stg_product_erp_template_id'), 'stg_product', ['erp_template_id'], unique=False)
    op.create_table('stg_stock_level',
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('warehouse_code', sa.String(length=64), nullable=False),
    sa.Column('erp_product_id', sa.Integer(), nullable=False),
    sa.Column('erp_warehouse_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('forecast_quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'warehouse_code', name=op.f('pk_stg_stock_level'))
    )
    op.create_index(op.f('ix_stg_stock_level_erp_product_id'), 'stg_stock_level', ['erp_product_id'], unique=False)
    op.create_table('sync_cursor',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('cursor_at', sa.DateTime(timezone=True), nullable=False, comment='end of the last committed window'),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'entity', name=op.f('pk_sync_cursor'))
    )
    op.create_table('sync_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('logical_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, comment='rows extracted, staged, quarantined, published...'),
    sa.Column('timings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, comment='seconds per stage'),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'success', 'failed', 'held')", name=op.f('ck_sync_run_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_run')),
    sa.UniqueConstraint('flow', 'dag_id', 'run_id', name=op.f('uq_sync_run_flow_dag_id_run_id'))
    )
    op.create_index(op.f('ix_sync_run_flow_finished_at'), 'sync_run', ['flow', 'finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sync_run_flow_finished_at'), table_name='sync_run')
    op.drop_table('sync_run')
    op.drop_table('sync_cursor')
    op.drop_index(op.f('ix_stg_stock_level_erp_product_id'), table_name='stg_stock_level')
    op.drop_table('stg_stock_level')
    op.drop_index(op.f('ix_stg_product_erp_template_id'), table_name='stg_product')
    op.drop_table('stg_product')
    op.drop_index(op.f('ix_stg_order_line_sku'), table_name='stg_order_line')
    op.drop_table('stg_order_line')
    op.drop_index(op.f('ix_stg_order_store_store_updated_at'), table_name='stg_order')
    op.drop_table('stg_order')
    op.drop_index(op.f('ix_row_error_status_next_attempt_at'), table_name='row_error')
    op.drop_table('row_error')
    op.drop_index(op.f('ix_raw_record_source_entity_record_key'), table_name='raw_record')
    op.drop_index(op.f('ix_raw_record_source_entity_batch_id'), table_name='raw_record')
    op.drop_table('raw_record')
    op.drop_index(op.f('ix_quarantine_status_quarantined_at'), table_name='quarantine')
    op.drop_index(op.f('ix_quarantine_source_entity_record_key_status'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_index(op.f('ix_published_variant_store_store_variant_id'), table_name='published_variant')
    op.drop_table('published_variant')
    op.drop_table('published_inventory')
    op.drop_index(op.f('ix_order_ledger_state_updated_at'), table_name='order_ledger')
    op.drop_table('order_ledger')
