"""Staging columns for publishing: the images' version of a product, the read time of a stock level.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:14:57.309953
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stg_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_version', sa.String(length=1000), nullable=True,
                                      comment="changes when the ERP's images change"))
    with op.batch_alter_table('stg_stock_level', schema=None) as batch_op:
        batch_op.add_column(sa.Column('as_of', sa.DateTime(timezone=True), nullable=True,
                                      comment='when the ERP was read: an older read never replaces a newer one'))


def downgrade() -> None:
    with op.batch_alter_table('stg_stock_level', schema=None) as batch_op:
        batch_op.drop_column('as_of')
    with op.batch_alter_table('stg_product', schema=None) as batch_op:
        batch_op.drop_column('image_version')
