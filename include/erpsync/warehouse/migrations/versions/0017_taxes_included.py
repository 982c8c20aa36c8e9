"""Tax-inclusive orders: ``stg_order.taxes_included``, whether the order's prices hold the tax (its
``tax_total`` is part of the lines, discounts and shipping, not on top). Existing rows are orders whose
prices did not include it (the only kind staged until now): false.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 06:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'taxes_included', sa.Boolean(), server_default=sa.false(), nullable=False,
            comment='prices include the tax: tax_total is part of the lines, discounts and shipping'))


def downgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('taxes_included')
