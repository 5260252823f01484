"""one successor per plan

Revision ID: 1ef9aeaafa05
Revises: 180139c9cb69
Create Date: 2026-12-01 08:21:30.450226

A plan is continued by at most one successor; the database refuses a second one even when
two coordinators confirm the Fortschreibung at the same moment.
"""
from alembic import op
import sqlalchemy as sa

import hki.db


# revision identifiers, used by Alembic.
revision = '1ef9aeaafa05'
down_revision = '180139c9cb69'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_plans_predecessor_id'), ['predecessor_id'])



def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_plans_predecessor_id'), type_='unique')

