"""What the Fortschreibung decided for each measure of the plan that ends."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import Outcome

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.plan.models import Measure, Plan


class MeasureOutcome(Audited, Model):
    """The decision on one measure of the old plan: carried over, closed, or dropped.

    Carried over names the new measure; dropped gives the reason the Abschlussbericht
    shows. A row of its own, so the old plan's measures and history stay exactly as they were.
    """

    __tablename__ = "measure_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The old plan's measure; each is decided once.
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), unique=True)
    successor_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(code_enum(Outcome, "outcome"))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The new plan's measure that continues it (carried over only).
    successor_measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    measure: Mapped[Measure] = relationship(foreign_keys=[measure_id])
    successor_measure: Mapped[Measure | None] = relationship(
        foreign_keys=[successor_measure_id])
    successor_plan: Mapped[Plan] = relationship()
    decided_by: Mapped[User] = relationship()
