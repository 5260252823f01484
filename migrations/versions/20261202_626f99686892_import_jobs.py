"""import jobs

Revision ID: 626f99686892
Revises: a2c4e6f8b135
Create Date: 2026-12-02 12:44:25.347951

A confirmed import is queued for the worker, which checks the file again and writes it:
a plan of thousands of measures takes longer than a web request should.
"""
import sqlalchemy as sa
from alembic import op

import hki.db


# revision identifiers, used by Alembic.
revision = '626f99686892'
down_revision = 'a2c4e6f8b135'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('plan_title', sa.String(length=300), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='import_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', hki.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', hki.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('data_import_id', sa.Integer(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['data_import_id'], ['data_imports.id'], name=op.f('fk_import_jobs_data_import_id_data_imports')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_import_jobs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    sa.UniqueConstraint('token', name=op.f('uq_import_jobs_token'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_state'), ['state', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_state'))

    op.drop_table('import_jobs')
