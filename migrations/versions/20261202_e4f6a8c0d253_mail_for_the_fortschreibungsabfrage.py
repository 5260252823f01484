"""mail for the fortschreibungsabfrage

Revision ID: e4f6a8c0d253
Revises: d9a3b5c7e142
Create Date: 2026-12-02 13:00:00

The outbox learns one more occasion: a Fortschreibungsabfrage was opened. The occasion's
CHECK constraint is replaced (SQLite: by copying the table, as batch mode does).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4f6a8c0d253'
down_revision = 'd9a3b5c7e142'
branch_labels = None
depends_on = None

OLD = ('round_opened', 'due_soon', 'overdue', 'returned')
NEW = (*OLD, 'revision_opened')


def _swap(new):
    """Replace the CHECK constraint of ``notifications.occasion`` by one allowing ``new``."""
    codes = ", ".join(f"'{code}'" for code in new)
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table('notifications', recreate='always' if sqlite else 'auto') as batch:
        batch.drop_constraint(op.f('ck_notifications_occasion'), type_='check')
        batch.create_check_constraint(op.f('ck_notifications_occasion'),
                                      sa.text(f"occasion IN ({codes})"))


def upgrade():
    _swap(NEW)


def downgrade():
    op.execute("DELETE FROM notifications WHERE occasion = 'revision_opened'")
    _swap(OLD)
