"""Search over measures that finds German words, the same on PostgreSQL and on SQLite.

Each measure has one search document: number, title, description, lead office,
partners, target groups and the notes of its accepted updates, folded to lower case with
umlauts as their base vowel (ä→a, ö→o, ü→u, ß→ss, accents dropped). A query word is
reduced to its stem by the Snowball German stemmer (snowballstemmer: "Mütter", "Mutter"
and "Muetter" all become "mutt", "Förderung" becomes "forder") and must occur somewhere in
the document – also inside a compound: "Förderung" finds "Sprachförderung" and
"Nachmittagsförderung", "Ärzte" finds "Ärzteschaft". Every word of a query must occur.
Matching is a substring test (LIKE), which both backends answer alike; the documents are
rewritten in the same flush that changes a measure or its updates, so search never lags
behind the data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer
from sqlalchemy import Connection, and_, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from hki.dashboard.models import MeasureSearch
from hki.extensions import db
from hki.plan.models import (
    Field,
    Goal,
    Measure,
    Organisation,
    TargetGroup,
    measure_partners,
    measure_target_groups,
)
from hki.updates.models import StatusUpdate, UpdateReview
from hki.vocab import Decision

#: SQLite's FTS5 index over ``measure_search`` (created by migration 8). No longer queried:
#: substring matching finds parts of compounds, which FTS5's prefixes cannot.
FTS_TABLE = "measure_search_fts"
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_BASE = str.maketrans({"ß": "ss"})
#: A query word: an outline number (2.3.1) or a run of letters and digits.
_TERM = re.compile(r"\d+(?:\.\d+)+|\w+")
#: Stems shorter than this match too much inside other words ("kur" in "Kurden"); the
#: folded word itself is used instead.
_SHORTEST_STEM = 4


def fold(value: str) -> str:
    """Lower case with umlauts and ß spelled out (ae, oe, ue, ss): names for files, keys."""
    return value.casefold().translate(_FOLD)


def base_fold(value: str) -> str:
    """Lower case, umlauts as their base vowel, ß as ss, no accents: the search's text."""
    decomposed = unicodedata.normalize("NFKD", value.casefold().translate(_BASE))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("german")


def terms(query: str) -> list[str]:
    """What each word of the query must match in a document (at most ten words)."""
    found = []
    for word in _TERM.findall(query.casefold())[:10]:
        if word[0].isdigit():
            found.append(word)
            continue
        stem = base_fold(_stemmer().stemWord(word))
        found.append(stem if len(stem) >= _SHORTEST_STEM else base_fold(word))
    return [t.replace("_", "") for t in found if t.replace("_", "")]


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
    names: dict[int, list[str]] = {}
    for link, named, key in ((measure_partners, Organisation, "organisation_id"),
                             (measure_target_groups, TargetGroup, "target_group_id")):
        for measure_id, name in connection.execute(
                select(link.c.measure_id, named.name)
                .join(named, named.id == link.c[key]).where(link.c.measure_id.in_(ids))):
            names.setdefault(measure_id, []).append(name)
    rows = [{"measure_id": m.id, "body": base_fold(" ".join(
                [m.number, m.title, m.description, m.lead, *names.get(m.id, []),
                 *notes.get(m.id, [])]))}
            for m in connection.execute(
                select(Measure.id, Measure.number, Measure.title, Measure.description,
                       Organisation.name.label("lead"))
                .join(Organisation, Organisation.id == Measure.lead_organisation_id)
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
    wanted = terms(query)
    if not wanted:
        return set()
    in_plan = (select(Measure.id).join(Measure.goal).join(Goal.field)
               .where(Field.plan_id == plan_id))
    stmt = select(MeasureSearch.measure_id).where(
        MeasureSearch.measure_id.in_(in_plan),
        and_(*(MeasureSearch.body.contains(t, autoescape=True) for t in wanted)))
    return set(db.session.scalars(stmt))


def score(texts: Iterable[str], title: str, wanted: list[str]) -> int:
    """How well a measure fits the query's :func:`terms`: a word in the title counts thrice.

    Takes the terms, not the query, so that a list of thousands of rows stems it once.
    """
    folded_title = base_fold(title)
    body = base_fold(" ".join(texts))
    return sum(3 * (t in folded_title) + (t in body) for t in wanted)


@event.listens_for(Session, "after_flush")
def _refresh_changed(session: Session, flush: UOWTransaction) -> None:
    """Keep documents in step with measures and updates, in the same transaction."""
    ids = {o.id for o in (*session.new, *session.dirty) if isinstance(o, Measure)}
    # A renamed organisation or target group stands in other measures' documents.
    organisations = {o.id for o in session.dirty if isinstance(o, Organisation)}
    groups = {o.id for o in session.dirty if isinstance(o, TargetGroup)}
    connection = session.connection() if organisations or groups else None
    if connection is not None:
        ids |= set(connection.scalars(select(Measure.id).where(
            Measure.lead_organisation_id.in_(organisations))))
        for link, key, renamed in ((measure_partners, "organisation_id", organisations),
                                   (measure_target_groups, "target_group_id", groups)):
            ids |= set(connection.scalars(select(link.c.measure_id).where(
                link.c[key].in_(renamed))))
    ids |= {o.measure_id for o in session.new if isinstance(o, StatusUpdate)}
    ids |= {o.update.measure_id for o in session.new
            if isinstance(o, UpdateReview) and o.update is not None}
    if ids:
        refresh(session.connection(), ids)
