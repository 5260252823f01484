"""search documents without drafts

Revision ID: 8a4f2c9e1b37
Revises: 5e1c0a7b9d21
Create Date: 2026-12-02 07:00:00

Data repair, no schema change. The finder's search documents held the notes of every
update, also of drafts waiting for review or returned to the office, so a council reader
could find a measure by a word only an internal draft contained. From now on only notes of
accepted updates are indexed (hki.dashboard.search.refresh); this rewrites the existing
documents the same way (the folding is copied, as migrations are frozen). The downgrade
leaves the documents as they are: they are derived data, rewritten on every change.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8a4f2c9e1b37'
down_revision = '5e1c0a7b9d21'
branch_labels = None
depends_on = None

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def upgrade():
    bind = op.get_bind()
    notes = {}
    for measure_id, note in bind.execute(sa.text(
            "SELECT u.measure_id, u.note FROM status_updates u "
            "JOIN update_reviews r ON r.update_id = u.id "
            "WHERE u.note <> '' AND r.decision = 'accepted' ORDER BY u.id")):
        notes.setdefault(measure_id, []).append(note)
    rows = [{"measure_id": i, "body": " ".join([n, t, d or "", *notes.get(i, [])]).casefold()
             .translate(_FOLD)}
            for i, n, t, d in bind.execute(sa.text(
                "SELECT id, number, title, description FROM measures"))]
    if rows:
        bind.execute(sa.text("UPDATE measure_search SET body = :body "
                             "WHERE measure_id = :measure_id"), rows)


def downgrade():
    pass
