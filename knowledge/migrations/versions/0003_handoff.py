"""helpline: opening hours, live chats with staff and their messages, call-back requests

Revision ID: 0003_handoff
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_handoff'
down_revision = '0003_cards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback') as batch:
        batch.add_column(sa.Column('sender_id', sa.String(length=255), nullable=True))
    op.create_table('helpline_hours',
    sa.Column('weekday', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('opens', sa.String(length=5), nullable=True),
    sa.Column('closes', sa.String(length=5), nullable=True),
    sa.PrimaryKeyConstraint('weekday')
    )
    op.create_table('live_chat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_by_name', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_live_chat_sender_id', 'live_chat', ['sender_id'])
    op.create_index('ix_live_chat_status', 'live_chat', ['status'])
    op.create_table('live_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['live_chat.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_live_message_chat_id', 'live_message', ['chat_id'])
    op.create_table('callback_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('contact_best_time', sa.String(length=200), nullable=True),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_callback_request_sender_id', 'callback_request', ['sender_id'])
    op.create_index('ix_callback_request_requested_at', 'callback_request', ['requested_at'])


def downgrade() -> None:
    op.drop_index('ix_callback_request_requested_at', table_name='callback_request')
    op.drop_index('ix_callback_request_sender_id', table_name='callback_request')
    op.drop_table('callback_request')
    op.drop_index('ix_live_message_chat_id', table_name='live_message')
    op.drop_table('live_message')
    op.drop_index('ix_live_chat_status', table_name='live_chat')
    op.drop_index('ix_live_chat_sender_id', table_name='live_chat')
    op.drop_table('live_chat')
    op.drop_table('helpline_hours')
    with op.batch_alter_table('feedback') as batch:
        batch.drop_column('sender_id')
