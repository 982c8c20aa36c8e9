"""Each step of each flow: its last success and its last failure with the error it raised (per-step freshness).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sync_step',
        sa.Column('flow', sa.String(length=32), nullable=False),
        sa.Column('step', sa.String(length=64), nullable=False, comment="the step's task id in the flow's DAG"),
        sa.Column('dag_id', sa.String(length=250), nullable=False),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_success_run_id', sa.String(length=250), nullable=True),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failed_run_id', sa.String(length=250), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True, comment='the exception the step raised, first line'),
        sa.Column('last_error_run_id', sa.String(length=250), nullable=True),
        sa.Column('last_error_try', sa.Integer(), nullable=True, comment='the try whose log shows that exception'),
        sa.PrimaryKeyConstraint('flow', 'step', name=op.f('pk_sync_step')),
    )


def downgrade() -> None:
    op.drop_table('sync_step')
