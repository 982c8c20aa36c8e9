"""Our own fulfillments are not read back: ``order_ledger.store_echo_at``, the order's last change as
the store answered our last fulfillment of it, and ``stg_order.store_version``, what of the order the flows
act on as the store's cheap read says it. An order found at that stamp and still at the staged version
changed in nothing the flows act on, so the order flow does not read it whole again. Existing rows: null
(their next change is read whole, as before).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'store_version', sa.String(length=255), nullable=True,
            comment="what of the order the flows act on, as the store's cheap read says it (null: not said)"))
    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'store_echo_at', sa.DateTime(timezone=True), nullable=True,
            comment="the order's last change as our last fulfillment left it"))


def downgrade() -> None:
    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.drop_column('store_echo_at')
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('store_version')
