"""The finder's search documents: one row per measure, kept by ``hki.dashboard.search``."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from hki.extensions import Model


class MeasureSearch(Model):
    """A measure's searchable text (number, title, description, every note), folded.

    Derived data, rewritten whenever the measure or its updates change; never audited.
    On SQLite an FTS5 index follows this table by triggers (migration 8); on PostgreSQL
    the query uses ``to_tsvector('german', body)``.
    """

    __tablename__ = "measure_search"

    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")
