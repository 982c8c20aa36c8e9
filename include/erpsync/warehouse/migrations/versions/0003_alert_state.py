"""Alert state: which alerts are firing, so repeats are suppressed and recoveries announced.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:21:02.129480
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_state',
    sa.Column('alert_key', sa.String(length=200), nullable=False, comment='the ongoing problem, e.g. catalog_sync/guardrail'),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('occurrences', sa.Integer(), server_default='1', nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f('ck_alert_state_status')),
    sa.PrimaryKeyConstraint('alert_key', name=op.f('pk_alert_state'))
    )


def downgrade() -> None:
    op.drop_table('alert_state')
