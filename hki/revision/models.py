"""What the Fortschreibung decided for each measure of the plan that ends."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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


class CouncilStage(Audited, Model):
    """One step of a plan's way through the council, with day, Vorlage and result.

    A committee's Vorberatung, the Verwaltungsausschuss, the Rat. The adoption itself
    stays on the plan (``adopted_on``, ``adoption_paper_ref``); these rows record the way
    there, which the council annex and the plan page show.
    """

    __tablename__ = "council_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    body: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(100), default="")
    meeting_on: Mapped[date]
    paper_ref: Mapped[str] = mapped_column(String(100), default="")
    result: Mapped[str] = mapped_column(String(300), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plan: Mapped[Plan] = relationship()
    recorded_by: Mapped[User] = relationship()


class RevisionQuery(Audited, Model):
    """The Fortschreibungsabfrage: offices propose the fate of their measures until a day.

    One per draft; it ends when the coordination closes it or the plan is adopted.
    """

    __tablename__ = "revision_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), unique=True)
    due_date: Mapped[date]
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()
    opened_by: Mapped[User] = relationship()


class RevisionProposal(Audited, Model):
    """An office's proposal for one measure of the old plan: continue, end, or drop.

    The coordination sees it beside the measure and decides; a later proposal for the
    same measure replaces the earlier one (the audit log keeps both).
    """

    __tablename__ = "revision_proposals"
    __table_args__ = (UniqueConstraint("plan_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The draft whose Fortschreibungsabfrage asked.
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    #: The old plan's measure it is about.
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(code_enum(Outcome, "proposal_outcome"))
    reason: Mapped[str] = mapped_column(Text, default="")
    end_date: Mapped[date | None]
    #: What the office proposes as target (indicator values, scope), in its own words.
    target_note: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    measure: Mapped[Measure] = relationship()
    proposed_by: Mapped[User] = relationship()


class RevisionShare(Audited, Model):
    """A read-only link to a draft for people without an account.

    For the Integrationsbeirat, migrant organisations and partners: it expires, can be
    revoked, and only its hash is stored, so a copy of the database does not open it.
    """

    __tablename__ = "revision_shares"
    __audit_redact__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_on: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()
    created_by: Mapped[User] = relationship()
