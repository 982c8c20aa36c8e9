"""The store's clock: when the store applied our inventory writes, by its own time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('published_inventory', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_confirmed_at', sa.DateTime(timezone=True), nullable=True, comment="when the store applied our last write, by the store's clock; null: read, not written"))


def downgrade() -> None:
    with op.batch_alter_table('published_inventory', schema=None) as batch_op:
        batch_op.drop_column('store_confirmed_at')
