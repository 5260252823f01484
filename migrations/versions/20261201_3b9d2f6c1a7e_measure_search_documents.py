"""measure search documents (finder full-text search)

Revision ID: 3b9d2f6c1a7e
Revises: fb0a479247a4
Create Date: 2026-12-01 07:40:00

One folded text per measure (number, title, description, notes). On SQLite an FTS5 index
follows the table by triggers; PostgreSQL searches it with to_tsvector('german', body).
Existing measures get their documents here (the folding is copied, as migrations are
frozen: lower case, ä→ae, ö→oe, ü→ue, ß→ss).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b9d2f6c1a7e'
down_revision = 'fb0a479247a4'
branch_labels = None
depends_on = None

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def upgrade():
    op.create_table(
        'measure_search',
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'],
                                name=op.f('fk_measure_search_measure_id_measures')),
        sa.PrimaryKeyConstraint('measure_id', name=op.f('pk_measure_search')),
    )
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE measure_search_fts USING fts5("
                   "body, content='measure_search', content_rowid='measure_id', "
                   "tokenize='unicode61 remove_diacritics 0')")
        op.execute("CREATE TRIGGER measure_search_fts_ai AFTER INSERT ON measure_search BEGIN "
                   "INSERT INTO measure_search_fts(rowid, body) VALUES (new.measure_id, new.body); END")
        op.execute("CREATE TRIGGER measure_search_fts_ad AFTER DELETE ON measure_search BEGIN "
                   "INSERT INTO measure_search_fts(measure_search_fts, rowid, body) "
                   "VALUES ('delete', old.measure_id, old.body); END")
        op.execute("CREATE TRIGGER measure_search_fts_au AFTER UPDATE ON measure_search BEGIN "
                   "INSERT INTO measure_search_fts(measure_search_fts, rowid, body) "
                   "VALUES ('delete', old.measure_id, old.body); "
                   "INSERT INTO measure_search_fts(rowid, body) VALUES (new.measure_id, new.body); END")
    notes = {}
    for measure_id, note in bind.execute(sa.text(
            "SELECT measure_id, note FROM status_updates WHERE note <> '' ORDER BY id")):
        notes.setdefault(measure_id, []).append(note)
    rows = [{"measure_id": i, "body": " ".join([n, t, d or "", *notes.get(i, [])]).casefold()
             .translate(_FOLD)}
            for i, n, t, d in bind.execute(sa.text(
                "SELECT id, number, title, description FROM measures"))]
    if rows:
        bind.execute(sa.text("INSERT INTO measure_search (measure_id, body) "
                             "VALUES (:measure_id, :body)"), rows)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('ai', 'ad', 'au'):
            op.execute(f"DROP TRIGGER measure_search_fts_{trigger}")
        op.execute("DROP TABLE measure_search_fts")
    op.drop_table('measure_search')
