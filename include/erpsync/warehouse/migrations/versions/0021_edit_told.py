"""``order_adjustment.told_at``: when the store was told that all of an edit's sale shipped. The fulfillment
flow looks at a fulfilled order again while it has an applied edit not told yet, instead of comparing the
edit's update time with the order's (two runs' clocks, which missed an edit applied beside the run that
fulfilled the order).

Existing rows: an edit of an order fulfilled after it, as the earlier rule took to be told, is stamped with
the order's update time when that was more than a week before the upgrade. The rest stay null, so the next
fulfillment run looks at each of those orders once (a read of its sales and of the store's fulfillment
orders) and tells the store of a shipment the earlier rule missed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:00:00
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

RECHECKED = dt.timedelta(days=7)

STAMP = """
UPDATE order_adjustment SET told_at = (
    SELECT l.updated_at FROM order_ledger l
    WHERE l.store = order_adjustment.store AND l.store_order_id = order_adjustment.store_order_id)
WHERE kind = 'edit' AND state = 'applied' AND erp_sale_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM order_ledger l
    WHERE l.store = order_adjustment.store AND l.store_order_id = order_adjustment.store_order_id
      AND l.state = 'fulfilled' AND l.updated_at >= order_adjustment.updated_at AND l.updated_at < :before)
"""


def upgrade() -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'told_at', sa.DateTime(timezone=True), nullable=True,
            comment='an edit: when the store was told of all its sale shipped'))
    conn = op.get_bind()
    before = dt.datetime.now(dt.UTC) - RECHECKED
    if conn.dialect.name == "sqlite":  # the warehouse keeps UTC there, without the offset
        before = before.replace(tzinfo=None)
    conn.execute(sa.text(STAMP).bindparams(sa.bindparam("before", type_=sa.DateTime(timezone=True))),
                 {"before": before})


def downgrade() -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.drop_column('told_at')
