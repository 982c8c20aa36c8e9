"""What each store's publish steps still have to look at: staging marks what it changed, a step settles it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'publish_due',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('step', sa.String(length=32), nullable=False,
                  comment='publish_content | publish_prices | publish_inventory'),
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('token', sa.String(length=36), nullable=False,
                  comment='which staging marked it: a later mark replaces it'),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('store', 'step', 'sku', name=op.f('pk_publish_due')),
    )


def downgrade() -> None:
    op.drop_table('publish_due')
