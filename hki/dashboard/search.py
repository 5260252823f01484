"""Full-text search over measures, German-aware, on PostgreSQL and on SQLite.

Texts and queries are folded alike (lower case, ä→ae, ö→oe, ü→ue, ß→ss), so
"Sprachfoerderung" finds "Sprachförderung" and "Strasse" finds "Straße". Each word of a
query must occur as the start of a word in the measure's number, title, description or
any of its notes: PostgreSQL matches with its German configuration (stemming), SQLite with
an FTS5 index (prefixes). The documents are rewritten in the same flush that changes a
measure or adds an update, so search never lags behind the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, column, event, select, table, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from hki.dashboard.models import MeasureSearch
from hki.extensions import db
from hki.plan.models import Field, Goal, Measure
from hki.updates.models import StatusUpdate, UpdateReview
from hki.vocab import Decision

#: SQLite's FTS5 index over ``measure_search`` (created by migration 8, SQLite only).
FTS_TABLE = "measure_search_fts"
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[0-9a-z]+")


def fold(value: str) -> str:
    """Lower case with umlauts and ß spelled out, the same for texts and queries."""
    return value.casefold().translate(_FOLD)


def words(query: str) -> list[str]:
    """The query's words after folding (anything else is dropped), at most ten."""
    return _WORD.findall(fold(query))[:10]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic: FTS5's virtual and shadow tables are not part of the models."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))


def refresh(connection: Connection, measure_ids: Iterable[int]) -> None:
    """Rewrite the search documents of these measures (three reads, one write).

    Concurrent transactions may refresh the same measure: on PostgreSQL the measures are
    locked first (in id order, so two never wait for each other), and the notes read after
    the lock include what the other transaction committed; the write is an upsert.
    """
    ids = sorted(set(measure_ids))
    if not ids:
        return
    if connection.dialect.name == "postgresql":
        # FOR NO KEY UPDATE: the update's own foreign key check holds a KEY SHARE lock on
        # the measure, which a plain FOR UPDATE would wait for (deadlock between two posts).
        connection.execute(select(Measure.id).where(Measure.id.in_(ids))
                           .order_by(Measure.id).with_for_update(key_share=True))
    notes: dict[int, list[str]] = {}
    # Only accepted updates: a draft is internal (hki.security.sees_update), and a word
    # that only a draft contains must not lead a reader to its measure.
    for measure_id, note in connection.execute(
            select(StatusUpdate.measure_id, StatusUpdate.note)
            .join(UpdateReview, UpdateReview.update_id == StatusUpdate.id)
            .where(StatusUpdate.measure_id.in_(ids), StatusUpdate.note != "",
                   UpdateReview.decision == Decision.ACCEPTED)
            .order_by(StatusUpdate.id)):
        notes.setdefault(measure_id, []).append(note)
    rows = [{"measure_id": m.id, "body": fold(" ".join(
                [m.number, m.title, m.description, *notes.get(m.id, [])]))}
            for m in connection.execute(
                select(Measure.id, Measure.number, Measure.title, Measure.description)
                .where(Measure.id.in_(ids)))]
    if rows:
        upsert = (postgresql_insert if connection.dialect.name == "postgresql"
                  else sqlite_insert)(MeasureSearch).values(rows)
        connection.execute(upsert.on_conflict_do_update(
            index_elements=[MeasureSearch.measure_id], set_={"body": upsert.excluded.body}))


def rebuild(connection: Connection) -> int:
    """Rewrite every search document (after bulk loads that bypass the ORM)."""
    ids = list(connection.scalars(select(Measure.id)))
    refresh(connection, ids)
    return len(ids)


def matching_ids(plan_id: int, query: str) -> set[int]:
    """Ids of the plan's measures whose documents contain every word of ``query``."""
    terms = words(query)
    if not terms:
        return set()
    in_plan = (select(Measure.id).join(Measure.goal).join(Goal.field)
               .where(Field.plan_id == plan_id))
    if db.session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join(f"{t}:*" for t in terms)
        stmt = select(MeasureSearch.measure_id).where(
            MeasureSearch.measure_id.in_(in_plan),
            text("to_tsvector('german', measure_search.body) @@ to_tsquery('german', :q)")
            .bindparams(q=tsquery))
    else:
        match = " ".join(f'"{t}"*' for t in terms)
        fts = table(FTS_TABLE, column("rowid"))
        stmt = select(fts.c.rowid).where(
            text(f"{FTS_TABLE} MATCH :q").bindparams(q=match), fts.c.rowid.in_(in_plan))
    return set(db.session.scalars(stmt))


@event.listens_for(Session, "after_flush")
def _refresh_changed(session: Session, flush: UOWTransaction) -> None:
    """Keep documents in step with measures and updates, in the same transaction."""
    ids = {o.id for o in (*session.new, *session.dirty) if isinstance(o, Measure)}
    ids |= {o.measure_id for o in session.new if isinstance(o, StatusUpdate)}
    ids |= {o.update.measure_id for o in session.new
            if isinstance(o, UpdateReview) and o.update is not None}
    if ids:
        refresh(session.connection(), ids)
