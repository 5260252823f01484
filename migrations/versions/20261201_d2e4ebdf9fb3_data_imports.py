"""data imports

Revision ID: d2e4ebdf9fb3
Revises: 3b9d2f6c1a7e
Create Date: 2026-12-01 07:08:39.392999

One row per imported workbook (file name, SHA-256, who, what it did), written in the
import's own transaction; the import's changes themselves are in the audit log.
"""
from alembic import op
import sqlalchemy as sa

import hki.db


# revision identifiers, used by Alembic.
revision = 'd2e4ebdf9fb3'
down_revision = '3b9d2f6c1a7e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', hki.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_data_imports_imported_by_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_data_imports_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_imports'))
    )
    with op.batch_alter_table('data_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_imports_plan_id'), ['plan_id'], unique=False)



def downgrade():
    with op.batch_alter_table('data_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_imports_plan_id'))

    op.drop_table('data_imports')
