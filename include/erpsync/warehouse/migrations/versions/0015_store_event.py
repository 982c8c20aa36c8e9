"""The inbox of store webhooks, ``store_event``: one row per event (deliveries of one event share its row
and count in ``deliveries``), or per refused delivery, with what it caused. No payload is kept: an event
is a hint to read the store, and its body carries customer data.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'store_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('store', sa.String(length=64), server_default='', nullable=False,
                  comment="the store it is of; '' for the ERP side"),
        sa.Column('event_id', sa.String(length=128), nullable=True,
                  comment="the store's event id (deliveries of one event share it); NULL when the delivery was refused"),
        sa.Column('topic', sa.String(length=64), nullable=False, comment='e.g. orders/create'),
        sa.Column('resource', sa.String(length=128), nullable=True,
                  comment='what changed, e.g. gid://shopify/Order/1 (no payload)'),
        sa.Column('resource_updated_at', sa.DateTime(timezone=True), nullable=True,
                  comment="the resource's version, the store's clock"),
        sa.Column('triggered_at', sa.DateTime(timezone=True), nullable=True,
                  comment='when the store says the event happened'),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True, comment='why it caused no run, for people'),
        sa.Column('deliveries', sa.Integer(), server_default='1', nullable=False, comment='times it was delivered'),
        sa.CheckConstraint("outcome IN ('run', 'run_failed', 'ignored', 'echo', 'stale', 'refused')",
                           name=op.f('ck_store_event_outcome')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_event')),
        sa.UniqueConstraint('store', 'event_id', name=op.f('uq_store_event_store_event_id')),
    )
    with op.batch_alter_table('store_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_event_store_received_at'), ['store', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('store_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_event_store_received_at'))
    op.drop_table('store_event')
