"""The order ledger records which run's booking attempt claimed an order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=250), nullable=True, comment='the run whose booking attempt claimed it (pending)'))


def downgrade() -> None:
    with op.batch_alter_table('order_ledger', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
