"""fortschreibungsabfrage and shares

Revision ID: d9a3b5c7e142
Revises: c7e2f9a4b516
Create Date: 2026-12-02 12:00:00

Offices propose the fate of their measures in a Fortschreibungsabfrage (one per draft,
one current proposal per measure); a draft can be shown read-only through expiring links.
"""
import sqlalchemy as sa
from alembic import op

import hki.db

# revision identifiers, used by Alembic.
revision = 'd9a3b5c7e142'
down_revision = 'c7e2f9a4b516'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'revision_queries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('opened_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', hki.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'],
                                name=op.f('fk_revision_queries_opened_by_id_users')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_revision_queries_plan_id_plans')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_queries')),
        sa.UniqueConstraint('plan_id', name=op.f('uq_revision_queries_plan_id')),
    )
    op.create_table(
        'revision_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.Enum('carried_over', 'closed', 'dropped',
                                     name='proposal_outcome', native_enum=False,
                                     create_constraint=True, length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('target_note', sa.Text(), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=False),
        sa.Column('proposed_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'],
                                name=op.f('fk_revision_proposals_measure_id_measures')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_revision_proposals_plan_id_plans')),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'],
                                name=op.f('fk_revision_proposals_proposed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_proposals')),
        sa.UniqueConstraint('plan_id', 'measure_id',
                            name=op.f('uq_revision_proposals_plan_id_measure_id')),
    )
    op.create_index(op.f('ix_revision_proposals_measure_id'), 'revision_proposals',
                    ['measure_id'], unique=False)
    op.create_table(
        'revision_shares',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', hki.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', hki.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_revision_shares_created_by_id_users')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_revision_shares_plan_id_plans')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_shares')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_revision_shares_token_hash')),
    )
    op.create_index(op.f('ix_revision_shares_plan_id'), 'revision_shares', ['plan_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_revision_shares_plan_id'), table_name='revision_shares')
    op.drop_table('revision_shares')
    op.drop_index(op.f('ix_revision_proposals_measure_id'), table_name='revision_proposals')
    op.drop_table('revision_proposals')
    op.drop_table('revision_queries')
