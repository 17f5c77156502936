"""Open Referral UK sync: a digest of each service's last synced feed item, so an unchanged item is passed over

Revision ID: 0004_oruk_speed
Revises: 0003_oruk
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_oruk_speed'
down_revision = '0003_oruk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('synced_service',
    sa.Column('service_id', sa.String(length=120), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('service_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id')
    )


def downgrade() -> None:
    op.drop_table('synced_service')
