"""council stages

Revision ID: c7e2f9a4b516
Revises: b8c4d1e6f293
Create Date: 2026-12-02 11:00:00

The way of a plan (usually a Fortschreibung's draft) through the council: one row per
committee meeting with its Vorlage and result, before the adoption that stays on the plan.
"""
import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = 'c7e2f9a4b516'
down_revision = 'b8c4d1e6f293'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'council_stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.String(length=200), nullable=False),
        sa.Column('purpose', sa.String(length=100), nullable=False),
        sa.Column('meeting_on', sa.Date(), nullable=False),
        sa.Column('paper_ref', sa.String(length=100), nullable=False),
        sa.Column('result', sa.String(length=300), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_council_stages_plan_id_plans')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_council_stages_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_council_stages')),
    )
    op.create_index(op.f('ix_council_stages_plan_id'), 'council_stages', ['plan_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_council_stages_plan_id'), table_name='council_stages')
    op.drop_table('council_stages')
