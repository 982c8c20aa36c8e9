"""Staged products say whether the ERP's web shop lists them (existing rows: yes, as before).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stg_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_web_shop', sa.Boolean(), server_default=sa.true(), nullable=False, comment="the ERP's web shop lists it: only then is it sold in the store"))


def downgrade() -> None:
    with op.batch_alter_table('stg_product', schema=None) as batch_op:
        batch_op.drop_column('in_web_shop')
