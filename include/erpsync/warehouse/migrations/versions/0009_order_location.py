"""Staged orders say which store location the goods are taken from (existing rows: unknown).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_location', sa.String(length=128), nullable=True, comment='the one store location the goods are taken from (its name); null: several, or not said'))


def downgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('store_location')
