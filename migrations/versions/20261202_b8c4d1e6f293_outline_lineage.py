"""outline lineage

Revision ID: b8c4d1e6f293
Revises: a7d2e5c3b810
Create Date: 2026-12-02 10:00:00

A Fortschreibung's draft is stored from its first step. Its fields and goals name the old
plan's field or goal they continue (``origin_id``), and a field or goal merged into
another one names where it went (``merged_into_id``), so that measures follow what the
coordinator did to the outline rather than the numbers.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8c4d1e6f293'
down_revision = 'a7d2e5c3b810'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('fields', 'goals'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('origin_id', sa.Integer(), nullable=True))
            batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f(f'fk_{table}_origin_id_{table}'), table,
                                     ['origin_id'], ['id'])
            batch.create_foreign_key(op.f(f'fk_{table}_merged_into_id_{table}'), table,
                                     ['merged_into_id'], ['id'])
            batch.create_index(op.f(f'ix_{table}_origin_id'), ['origin_id'])


def downgrade():
    for table in ('goals', 'fields'):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f'ix_{table}_origin_id'))
            batch.drop_constraint(op.f(f'fk_{table}_merged_into_id_{table}'), type_='foreignkey')
            batch.drop_constraint(op.f(f'fk_{table}_origin_id_{table}'), type_='foreignkey')
            batch.drop_column('merged_into_id')
            batch.drop_column('origin_id')
