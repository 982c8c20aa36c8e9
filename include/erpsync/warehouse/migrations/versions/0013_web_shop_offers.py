"""Each further store's own ERP web shop: how it offers each staged variant (listed or not, at its own
price list's price), table ``stg_offer``. Existing data needs nothing: stg_product keeps the offer of
``erp_default``'s web shop, and the next catalog run reads the other web shops' (their listed counts differ
from what is staged, so their variants are read again).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stg_offer',
        sa.Column('web_shop', sa.String(length=255), nullable=False, comment="the ERP web shop's name"),
        sa.Column('erp_product_id', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=128), nullable=False),
        sa.Column('listed', sa.Boolean(), nullable=False, comment='the web shop lists it: only then does its store sell it'),
        sa.Column('sale_price', sa.Numeric(precision=18, scale=4), nullable=True, comment="from the web shop's own sale price list"),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('batch_id', sa.String(length=64), nullable=False),
        sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('web_shop', 'erp_product_id', name=op.f('pk_stg_offer')),
    )
    with op.batch_alter_table('stg_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stg_offer_sku'), ['sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stg_offer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stg_offer_sku'))
    op.drop_table('stg_offer')
