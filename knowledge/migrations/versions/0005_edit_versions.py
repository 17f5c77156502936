"""edit versions: places, need words and postcode districts get the version column every editable table has

Revision ID: 0005_edit_versions
Revises: 0004_oruk_speed
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_edit_versions'
down_revision = '0004_oruk_speed'
branch_labels = None
depends_on = None

TABLES = ('place', 'need_synonym', 'postcode_district')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
