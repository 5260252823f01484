"""The status update (Sachstand): one dated statement about one measure."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import Status

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.plan.models import Measure


class StatusUpdate(Audited, Model):
    """What was true about a measure on ``as_of``, as written by ``author`` at ``recorded_at``.

    Two clocks: ``as_of`` is valid time (the date described), ``recorded_at`` is record time
    (set by the server). Updates are never changed; a wrong one is corrected by a new
    update that names it in ``corrects_id``.
    """

    __tablename__ = "status_updates"
    __table_args__ = (
        CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 100)", name="progress_range"
        ),
        Index(None, "measure_id", "as_of", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    #: The date the update describes (valid time).
    as_of: Mapped[date]
    status: Mapped[Status] = mapped_column(code_enum(Status, "status"))
    #: Implementation progress in percent; empty for a Daueraufgabe.
    progress: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: When the server stored the update (record time).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The earlier update this one corrects, if any.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id"))

    measure: Mapped[Measure] = relationship(back_populates="updates")
    author: Mapped[User] = relationship()
    corrects: Mapped[StatusUpdate | None] = relationship(remote_side=[id])
