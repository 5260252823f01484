"""report texts

Revision ID: e2b8a0d47c15
Revises: c41d7e9a2f60
Create Date: 2026-12-02 08:00:00

The coordination's own words in a report (Vorbemerkung, Einschätzung, Ausblick, a comment
per field of action): report_texts while drafting, one row per plan and Stichtag, and a
copy in reports.narrative when a report is issued. The column is added with plain ALTER
TABLE on SQLite (no batch copy), so that reports keeps the triggers that make finished
reports immutable.
"""
import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = 'e2b8a0d47c15'
down_revision = 'c41d7e9a2f60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('stichtag', sa.Date(), nullable=False),
        sa.Column('intro', sa.Text(), nullable=False),
        sa.Column('assessment', sa.Text(), nullable=False),
        sa.Column('outlook', sa.Text(), nullable=False),
        sa.Column('field_notes', sa.JSON(), nullable=False),
        sa.Column('updated_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_report_texts_plan_id_plans')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_report_texts_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_texts')),
        sa.UniqueConstraint('plan_id', 'stichtag', name=op.f('uq_report_texts_plan_id_stichtag')),
    )
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE reports ADD COLUMN narrative JSON")
    else:
        op.add_column('reports', sa.Column('narrative', sa.JSON(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE reports DROP COLUMN narrative")
    else:
        op.drop_column('reports', 'narrative')
    op.drop_table('report_texts')
