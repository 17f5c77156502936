"""cards: each authority's council name and Local Offer address (for the out-of-area answer)

Revision ID: 0003_cards
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_cards'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('local_authority') as batch:
        batch.add_column(sa.Column('council_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('local_offer_url', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('local_authority') as batch:
        batch.drop_column('local_offer_url')
        batch.drop_column('council_name')
