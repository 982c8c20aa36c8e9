"""``published_inventory.held_units``, ``held_from``, ``held_until``, ``held_known``: the units a stale
compare took off a level that no staged order accounted for yet (``erpsync.sync.catalog.cas.Hold``). Without them the next
publish compared with the store's figure, which already lacked those units, against a desired level
that did not hold them back yet, and gave them back: a write over a sale the order flow had not staged.

Existing rows get no hold: a level written before the upgrade keeps the behaviour it had until its next
stale compare.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 02:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('published_inventory', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'held_units', sa.Integer(), nullable=True,
            comment="units a stale compare took off that no staged order accounted for; null: no hold"))
        batch_op.add_column(sa.Column(
            'held_from', sa.DateTime(timezone=True), nullable=True,
            comment="the store's time of our write the hold counts from (null: unstamped)"))
        batch_op.add_column(sa.Column(
            'held_until', sa.DateTime(timezone=True), nullable=True,
            comment="the store's time of the read that found the drop"))
        batch_op.add_column(sa.Column(
            'held_known', sa.Integer(), nullable=True,
            comment="units of staged orders of the hold's window the desired level held back when it was set"))


def downgrade() -> None:
    with op.batch_alter_table('published_inventory', schema=None) as batch_op:
        batch_op.drop_column('held_known')
        batch_op.drop_column('held_until')
        batch_op.drop_column('held_from')
        batch_op.drop_column('held_units')
