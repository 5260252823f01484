"""notifications

Revision ID: a7d2e5c3b810
Revises: f6a3c8b1d924
Create Date: 2026-12-02 09:00:00

The outbox of the mails that follow an update round (round opened, due soon, overdue,
answer returned): one row per person and occasion, unique, sent by ``flask hki notify``
or the worker and retried when the mail server fails.
"""
import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = 'a7d2e5c3b810'
down_revision = 'f6a3c8b1d924'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('occasion', sa.Enum('round_opened', 'due_soon', 'overdue', 'returned',
                                      name='occasion', native_enum=False,
                                      create_constraint=True, length=20), nullable=False),
        sa.Column('subject', sa.String(length=50), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.Column('update_id', sa.Integer(), nullable=True),
        sa.Column('created_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', hki.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_error', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['update_rounds.id'],
                                name=op.f('fk_notifications_round_id_update_rounds')),
        sa.ForeignKeyConstraint(['update_id'], ['status_updates.id'],
                                name=op.f('fk_notifications_update_id_status_updates')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('occasion', 'subject', 'user_id',
                            name=op.f('uq_notifications_occasion_subject_user_id')),
    )
    op.create_index(op.f('ix_notifications_sent_at'), 'notifications', ['sent_at', 'id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_notifications_sent_at'), table_name='notifications')
    op.drop_table('notifications')
