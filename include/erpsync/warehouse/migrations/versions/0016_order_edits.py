"""Order edits: the store's edits of an order staged with it (``stg_order.edits``), and an edit as a kind
of ``order_adjustment`` (applied once, by its own key).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 06:10:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('refund', 'cancel')"
KINDS_AFTER = "kind IN ('refund', 'cancel', 'edit')"


def upgrade() -> None:
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'edits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
            nullable=True,
            comment="the store's edits of the order: id, when, lines (line id, units added or removed)"))
    _kinds(KINDS_AFTER)
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), existing_nullable=False,
                              comment='refund | cancel | edit')


def downgrade() -> None:
    op.execute("DELETE FROM order_adjustment WHERE kind = 'edit'")
    _kinds(KINDS_BEFORE)
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), existing_nullable=False,
                              comment='refund | cancel')
    with op.batch_alter_table('stg_order', schema=None) as batch_op:
        batch_op.drop_column('edits')


def _kinds(check: str) -> None:
    with op.batch_alter_table('order_adjustment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_order_adjustment_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_order_adjustment_kind'), check)
