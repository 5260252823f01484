"""fortschreibung: measure origin, outcomes, report kind

Revision ID: 180139c9cb69
Revises: d2e4ebdf9fb3
Create Date: 2026-12-01 07:54:57.726231

A carried-over measure names its origin (measures.origin_id); what the Fortschreibung
decided for each measure of the old plan is a row of measure_outcomes; a report is a
Sachstandsbericht or an Abschlussbericht (reports.kind, existing rows: progress).

Columns are added and dropped with plain ALTER TABLE on SQLite (no batch copy of
reports), so that it keeps the triggers that make finished reports immutable.
"""
from alembic import op
import sqlalchemy as sa

import hki.db


# revision identifiers, used by Alembic.
revision = '180139c9cb69'
down_revision = 'd2e4ebdf9fb3'
branch_labels = None
depends_on = None

def upgrade():
    op.create_table('measure_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('successor_plan_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('carried_over', 'closed', 'dropped', name='outcome', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('successor_measure_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', hki.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_measure_outcomes_decided_by_id_users')),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_measure_outcomes_measure_id_measures')),
    sa.ForeignKeyConstraint(['successor_measure_id'], ['measures.id'], name=op.f('fk_measure_outcomes_successor_measure_id_measures')),
    sa.ForeignKeyConstraint(['successor_plan_id'], ['plans.id'], name=op.f('fk_measure_outcomes_successor_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_outcomes')),
    sa.UniqueConstraint('measure_id', name=op.f('uq_measure_outcomes_measure_id'))
    )
    op.create_index(op.f('ix_measure_outcomes_successor_plan_id'), 'measure_outcomes', ['successor_plan_id'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        # Alembic refuses constraints in SQLite's ADD COLUMN; SQLite itself takes them.
        op.execute("ALTER TABLE measures ADD COLUMN origin_id INTEGER "
                   "CONSTRAINT fk_measures_origin_id_measures REFERENCES measures (id)")
        op.execute("ALTER TABLE reports ADD COLUMN kind VARCHAR(20) DEFAULT 'progress' NOT NULL "
                   "CONSTRAINT ck_reports_report_kind CHECK (kind IN ('progress', 'final'))")
    else:
        op.add_column('measures', sa.Column(
            'origin_id', sa.Integer(),
            sa.ForeignKey('measures.id', name=op.f('fk_measures_origin_id_measures')),
            nullable=True))
        op.add_column('reports', sa.Column('kind', sa.Enum('progress', 'final', name='report_kind', native_enum=False, create_constraint=True, length=20), server_default='progress', nullable=False))
    op.create_index(op.f('ix_measures_origin_id'), 'measures', ['origin_id'], unique=False)

def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        # The CHECK belongs to the column, so SQLite drops it in place (triggers stay).
        op.execute("ALTER TABLE reports DROP COLUMN kind")
    else:
        op.drop_column('reports', 'kind')
    op.drop_index(op.f('ix_measures_origin_id'), table_name='measures')
    with op.batch_alter_table('measures', schema=None) as batch_op:
        if not sqlite:  # SQLite does not reflect the name of a column's own constraint
            batch_op.drop_constraint(batch_op.f('fk_measures_origin_id_measures'),
                                     type_='foreignkey')
        batch_op.drop_column('origin_id')
    op.drop_index(op.f('ix_measure_outcomes_successor_plan_id'), table_name='measure_outcomes')
    op.drop_table('measure_outcomes')
