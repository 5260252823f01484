"""The finder's search documents: one row per measure, kept by ``hki.dashboard.search``."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from hki.extensions import Model


class MeasureSearch(Model):
    """A measure's searchable text, folded (see :mod:`hki.dashboard.search`).

    Number, title, description, lead, partners, target groups and the notes of accepted
    updates. Derived data, rewritten whenever the measure, its updates or a name in it
    change; never audited. Searched by substring on both backends.
    """

    __tablename__ = "measure_search"

    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")
