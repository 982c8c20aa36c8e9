"""``order_adjustment.erp_counted_at``: from when the ERP's stock forecast counts the units an applied edit
or exchange committed in the store (the ERP's clock, rounded up past the commit of its sale or amendment,
as ``order_ledger.erp_confirmed_at`` is for an order's own sale). Until a stock read at or after that
time, the inventory flow holds those units back (``desired.pending_quantities``); before, it held back
nothing of an order once its own sale was counted, and offered an edit's units again.

Existing rows: applied edits and exchanges (fulfilled ones too) are stamped with the time of the upgrade.
They were booked before it, so a stock read from then on counts them; one read before it holds them back
until the next. An edit the ERP could not follow stays unstamped: its units are held back while the store
holds them (the order not cancelled, not all fulfilled).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:00:00
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STAMP = """
UPDATE order_adjustment SET erp_counted_at = :now
WHERE kind IN ('edit', 'exchange') AND state IN ('applied', 'fulfilled')
"""


def upgrade() -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'erp_counted_at', sa.DateTime(timezone=True), nullable=True,
            comment="an applied edit or exchange: from then on the ERP's stock forecast counts its units"))
    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if conn.dialect.name == "sqlite":  # the warehouse keeps UTC there, without the offset
        now = now.replace(tzinfo=None)
    conn.execute(sa.text(STAMP).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))), {"now": now})


def downgrade() -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.drop_column('erp_counted_at')
