"""no session tokens in the audit log

Revision ID: f1b3c5d7e964
Revises: e4f6a8c0d253
Create Date: 2026-12-02 14:00:00

A session token together with the signing key gives a session without the password, and
the audit log is shown to coordinators: entries about accounts that carry a token get it
replaced by "(geändert)", like password hashes. The log is append-only; its guard is
lifted for this one statement and put back at once, in the same transaction on PostgreSQL.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1b3c5d7e964'
down_revision = 'e4f6a8c0d253'
branch_labels = None
depends_on = None

REDACTED = "(geändert)"
SQLITE_GUARD = """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'Tabelle audit_log ist unveränderlich (nur Anfügen erlaubt)'); END"""


def upgrade():
    bind = op.get_bind()
    log = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('entity', sa.String),
                   sa.column('before', sa.JSON), sa.column('after', sa.JSON),
                   sa.column('snapshot', sa.JSON))
    changes = []
    for row in bind.execute(sa.select(log).where(log.c.entity == 'users')):
        parts = {}
        for name in ('before', 'after', 'snapshot'):
            value = getattr(row, name)
            if isinstance(value, dict) and value.get('session_token') not in (None, '', REDACTED):
                parts[name] = {**value, 'session_token': REDACTED}
        if parts:
            changes.append((row.id, parts))
    if not changes:
        return
    sqlite = bind.dialect.name == 'sqlite'
    op.execute("DROP TRIGGER audit_log_no_update" if sqlite else
               "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    for entry_id, parts in changes:
        bind.execute(sa.update(log).where(log.c.id == entry_id).values(**parts))
    op.execute(SQLITE_GUARD if sqlite else
               "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade():
    pass  # a redacted token is not brought back
