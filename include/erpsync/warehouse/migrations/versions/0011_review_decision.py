"""What a person decided in Airflow (DAG review_held) on a held change or a given-up row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 23:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_decision',
        sa.Column('flow', sa.String(length=32), nullable=False),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('record_key', sa.String(length=255), nullable=False),
        sa.Column('operation', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False,
                  comment="what was decided on: the held value (a price, 'unpublish') or the given-up failure's time"),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.String(length=250), nullable=True,
                  comment='the Airflow user; empty when the wait timed out'),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('review_run_id', sa.String(length=250), nullable=False,
                  comment='the run of DAG review_held that asked'),
        sa.CheckConstraint("decision IN ('approved', 'rejected', 'retry', 'leave')",
                           name=op.f('ck_review_decision_decision')),
        sa.PrimaryKeyConstraint('flow', 'entity', 'record_key', 'operation', name=op.f('pk_review_decision')),
    )


def downgrade() -> None:
    op.drop_table('review_decision')
