"""search documents for German words

Revision ID: f6a3c8b1d924
Revises: e2b8a0d47c15
Create Date: 2026-12-02 08:30:00

Data repair, no schema change. The finder's search documents were folded with umlauts
spelled out (ü→ue), which broke German stemming ("Mutter" did not find "Mütter"), and held
neither the lead office nor partners or target groups. They are rewritten as
hki.dashboard.search.refresh writes them now: number, title, description, lead, partners,
target groups and the notes of accepted updates, with umlauts as their base vowel (the
folding is copied, as migrations are frozen). SQLite's FTS5 index keeps following the
table but is no longer queried. The downgrade leaves the documents as they are (derived
data, rewritten on every change).
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f6a3c8b1d924'
down_revision = 'e2b8a0d47c15'
branch_labels = None
depends_on = None


def _base_fold(value):
    decomposed = unicodedata.normalize("NFKD", value.casefold().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def upgrade():
    bind = op.get_bind()
    extra = {}
    for measure_id, text in bind.execute(sa.text(
            "SELECT u.measure_id, u.note FROM status_updates u "
            "JOIN update_reviews r ON r.update_id = u.id "
            "WHERE u.note <> '' AND r.decision = 'accepted' ORDER BY u.id")):
        extra.setdefault(measure_id, []).append(text)
    for sql in ("SELECT p.measure_id, o.name FROM measure_partners p "
                "JOIN organisations o ON o.id = p.organisation_id",
                "SELECT t.measure_id, g.name FROM measure_target_groups t "
                "JOIN target_groups g ON g.id = t.target_group_id"):
        for measure_id, name in bind.execute(sa.text(sql)):
            extra.setdefault(measure_id, []).insert(0, name)
    rows = [{"measure_id": i, "body": _base_fold(" ".join([n, t, d or "", lead,
                                                          *extra.get(i, [])]))}
            for i, n, t, d, lead in bind.execute(sa.text(
                "SELECT m.id, m.number, m.title, m.description, o.name FROM measures m "
                "JOIN organisations o ON o.id = m.lead_organisation_id"))]
    if rows:
        bind.execute(sa.text("UPDATE measure_search SET body = :body "
                             "WHERE measure_id = :measure_id"), rows)


def downgrade():
    pass
