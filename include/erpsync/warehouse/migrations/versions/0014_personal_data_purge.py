"""Housekeeping: when the personal data of a raw or quarantined order payload, or of a staged order,
was blanked (``personal_data_purged_at`` on ``raw_record``, ``quarantine`` and ``stg_order``). Existing
rows get NULL: not purged yet; the next housekeeping run purges those past the configured period.
And an index on ``raw_record.extracted_at``: housekeeping deletes raw rows by age, batch by batch.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COMMENTS = {
    'raw_record': "when housekeeping blanked the payload's personal data",
    'quarantine': "when housekeeping blanked the payload's personal data",
    'stg_order': "when housekeeping blanked the customer and addresses",
}


def upgrade() -> None:
    for table, comment in COMMENTS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('personal_data_purged_at', sa.DateTime(timezone=True), nullable=True,
                                          comment=comment))
    with op.batch_alter_table('raw_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_record_extracted_at'), ['extracted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('raw_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_record_extracted_at'))
    for table in COMMENTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('personal_data_purged_at')
