"""Returns and exchanges: the store's processed returns staged with the order (``stg_order.returns``); a
return and its exchange as kinds of ``order_adjustment`` (each booked once, by the return's id), and
``fulfilled``, the state of an exchange whose goods the ERP shipped and the store was told of.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 09:50:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('refund', 'cancel', 'edit')"
KINDS_AFTER = "kind IN ('refund', 'cancel', 'edit', 'return', 'exchange')"
STATES_BEFORE = "state IN ('pending', 'applied', 'not_possible', 'failed')"
STATES_AFTER = "state IN ('pending', 'applied', 'not_possible', 'failed', 'fulfilled')"


def upgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'returns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
            nullable=True,
            comment="the store's processed returns: id, when, lines returned (restocked where), lines given "
                    "in exchange"))
    _checks(KINDS_AFTER, STATES_AFTER)
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), existing_nullable=False,
                              comment='refund | cancel | edit | return | exchange')
        batch_op.alter_column('store_ref', existing_type=sa.String(length=128), existing_nullable=False,
                              comment="the store's refund, edit or return id; 'cancel' for a cancellation")


def downgrade() -> None:
    op.execute("DELETE FROM order_adjustment WHERE kind IN ('return', 'exchange')")
    _checks(KINDS_BEFORE, STATES_BEFORE)
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), existing_nullable=False,
                              comment='refund | cancel | edit')
        batch_op.alter_column('store_ref', existing_type=sa.String(length=128), existing_nullable=False,
                              comment="the store's refund id; 'cancel' for a cancellation")
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('returns')


def _checks(kinds: str, states: str) -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_order_adjustment_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_order_adjustment_kind'), kinds)
        batch_op.drop_constraint(op.f('ck_order_adjustment_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_order_adjustment_state'), states)
