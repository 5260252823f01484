"""indicator values given with an update

Revision ID: c41d7e9a2f60
Revises: 5e1c0a7b9d21
Create Date: 2026-12-02 07:30:00

An indicator value given with a status update names it (indicator_values.update_id), so
that it counts exactly when the update counts: an office's value after the coordination
accepted its update, not before, and no longer once a correction replaced the update.
Values entered before (by coordinators, counting at once) keep no update.

The column is added with plain ALTER TABLE on SQLite (no batch copy), so that the table
keeps the triggers that make it append-only.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c41d7e9a2f60'
down_revision = '5e1c0a7b9d21'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # Alembic refuses constraints in SQLite's ADD COLUMN; SQLite itself takes them.
        op.execute("ALTER TABLE indicator_values ADD COLUMN update_id INTEGER CONSTRAINT "
                   "fk_indicator_values_update_id_status_updates REFERENCES status_updates (id)")
    else:
        op.add_column('indicator_values', sa.Column(
            'update_id', sa.Integer(),
            sa.ForeignKey('status_updates.id',
                          name=op.f('fk_indicator_values_update_id_status_updates')),
            nullable=True))
    op.create_index(op.f('ix_indicator_values_update_id'), 'indicator_values', ['update_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_indicator_values_update_id'), table_name='indicator_values')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE indicator_values DROP COLUMN update_id")
    else:
        op.drop_constraint(op.f('fk_indicator_values_update_id_status_updates'),
                           'indicator_values', type_='foreignkey')
        op.drop_column('indicator_values', 'update_id')
