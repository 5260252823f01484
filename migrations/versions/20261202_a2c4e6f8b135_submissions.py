"""submissions

Revision ID: a2c4e6f8b135
Revises: f1b3c5d7e964
Create Date: 2026-12-02 15:00:00

One row per form that created something, keyed by the form's one-time key: a double
click, a retried request or a second tab finds the key and stores nothing twice.
"""
import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = 'a2c4e6f8b135'
down_revision = 'f1b3c5d7e964'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'submissions',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('endpoint', sa.String(length=100), nullable=False),
        sa.Column('created_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('location', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_submissions_user_id_users')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_submissions')),
    )


def downgrade():
    op.drop_table('submissions')
