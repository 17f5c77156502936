"""Open Referral UK: foreign taxonomy terms mapped to needs; postcode district centres; services' sync source

Revision ID: 0003_oruk
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_oruk'
down_revision = '0003_handoff'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('taxonomy_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taxonomy', sa.String(length=200), nullable=False),
    sa.Column('term_id', sa.String(length=200), nullable=False),
    sa.Column('term_name', sa.String(length=300), nullable=False),
    sa.Column('need_code', sa.String(length=60), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('taxonomy', 'term_id', name='uq_taxonomy_mapping_term')
    )
    with op.batch_alter_table('postcode_district') as batch:
        batch.add_column(sa.Column('latitude', sa.Numeric(precision=8, scale=5), nullable=True))
        batch.add_column(sa.Column('longitude', sa.Numeric(precision=8, scale=5), nullable=True))
    with op.batch_alter_table('service') as batch:
        batch.add_column(sa.Column('source_url', sa.String(length=500), nullable=True))
        batch.create_index('ix_service_source_url', ['source_url'])


def downgrade() -> None:
    with op.batch_alter_table('service') as batch:
        batch.drop_index('ix_service_source_url')
        batch.drop_column('source_url')
    with op.batch_alter_table('postcode_district') as batch:
        batch.drop_column('longitude')
        batch.drop_column('latitude')
    op.drop_table('taxonomy_mapping')
