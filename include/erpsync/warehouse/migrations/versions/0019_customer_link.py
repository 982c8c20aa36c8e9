"""Customer accounts linked to ERP parties, ``customer_link`` (the optional customers flow): one row per
store account, with the party it is and which side made which. Ids only: no customer data.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'customer_link',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('store', sa.String(length=64), server_default='', nullable=False,
                  comment="the store it is of; '' for the ERP side"),
        sa.Column('customer_id', sa.String(length=128), nullable=False, comment="the store's customer account id"),
        sa.Column('party_id', sa.Integer(), nullable=False, comment='the ERP party of that account'),
        sa.Column('origin', sa.String(length=8), nullable=False,
                  comment='erp: the account was made from the party; store: the party from the account; '
                          'matched: both existed'),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("origin IN ('erp', 'store', 'matched')", name=op.f('ck_customer_link_origin')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_link')),
        sa.UniqueConstraint('store', 'customer_id', name=op.f('uq_customer_link_store_customer_id')),
    )
    with op.batch_alter_table('customer_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_link_store_party_id'), ['store', 'party_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_link_store_party_id'))
    op.drop_table('customer_link')
