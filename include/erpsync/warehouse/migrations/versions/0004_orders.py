"""Orders: refunds on staged orders, when the ERP confirmed a sale, refunds and cancellations applied.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:05:14.532651
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_adjustment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('store_order_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='refund | cancel'),
    sa.Column('store_ref', sa.String(length=128), nullable=False, comment="the store's refund id; 'cancel' for a cancellation"),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('erp_sale_id', sa.Integer(), nullable=True, comment='the return sale that books a refund'),
    sa.Column('detail', sa.Text(), nullable=True, comment='why it could not be applied, for people'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('refund', 'cancel')", name=op.f('ck_order_adjustment_kind')),
    sa.CheckConstraint("state IN ('pending', 'applied', 'not_possible', 'failed')", name=op.f('ck_order_adjustment_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_adjustment')),
    sa.UniqueConstraint('store', 'store_order_id', 'kind', 'store_ref', name=op.f('uq_order_adjustment_store_store_order_id_kind_store_ref'))
    )
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_adjustment_state_updated_at'), ['state', 'updated_at'], unique=False)

    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erp_confirmed_at', sa.DateTime(timezone=True), nullable=True, comment="from then on the ERP's stock forecast counts the sale"))

    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True, comment="the store's refunds: id, lines (line id, quantity, restock)"))


def downgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('refunds')

    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.drop_column('erp_confirmed_at')

    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_adjustment_state_updated_at'))

    op.drop_table('order_adjustment')
