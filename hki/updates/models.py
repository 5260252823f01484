"""The status update (Sachstand): one dated statement about one measure."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import Decision, Status

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.plan.models import IndicatorValue, Measure, Organisation, Plan


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
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id"), index=True)

    measure: Mapped[Measure] = relationship(back_populates="updates")
    author: Mapped[User] = relationship()
    corrects: Mapped[StatusUpdate | None] = relationship(remote_side=[id])
    #: The coordinator's decision; an update counts only once it is accepted.
    review: Mapped[UpdateReview | None] = relationship(back_populates="update")
    #: Indicator values given with this update; they count when it counts.
    values: Mapped[list[IndicatorValue]] = relationship(back_populates="update",
                                                        order_by="IndicatorValue.id")


class UpdateReview(Model):
    """The decision on one update (Freigabe): accepted, or returned with a comment.

    A separate row because updates never change; it is itself never changed and names
    who decided when, so it is its own record (not copied into the audit log). A
    coordinator's own update gets its acceptance in the same transaction, so it counts at
    once. "Known at K" counts exactly the updates accepted by K.
    """

    __tablename__ = "update_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("status_updates.id"), unique=True)
    decision: Mapped[Decision] = mapped_column(code_enum(Decision, "decision"))
    #: Why an update was returned (shown to the office); may be empty for acceptance.
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    update: Mapped[StatusUpdate] = relationship(back_populates="review")
    reviewer: Mapped[User] = relationship()


class UpdateRound(Audited, Model):
    """A Sachstandsabfrage: offices answer for their measures for a Stichtag by a due date.

    A measure counts as answered when it has an update (not returned) whose ``as_of`` lies
    in ``period_start`` … ``stichtag``; nothing is stored per measure, so the round's
    completion is always what the updates say.
    """

    __tablename__ = "update_rounds"
    __table_args__ = (
        CheckConstraint("period_start <= stichtag", name="period_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    title: Mapped[str] = mapped_column(String(200))
    #: First day an answer may describe.
    period_start: Mapped[date]
    #: The day the round asks about; answers describe a day up to it.
    stichtag: Mapped[date]
    due_date: Mapped[date]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the coordinator closes the round; offices no longer see it then.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()
    opened_by: Mapped[User] = relationship()


class Reminder(Model):
    """One reminder mail to one office for one round; at most one per day.

    A record of what was sent, by whom and when; never changed.
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("round_id", "organisation_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("update_rounds.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    #: The local calendar day of sending: the unit of "not twice".
    sent_on: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Addresses the mail went to, comma-separated.
    recipients: Mapped[str] = mapped_column(Text)
    #: How many open measures the mail listed.
    measure_count: Mapped[int]

    organisation: Mapped[Organisation] = relationship()


class Occasion(StrEnum):
    """Why hki mails an office (each at most once per person and occasion)."""

    ROUND_OPENED = "round_opened"  # a round asks about the office's measures
    DUE_SOON = "due_soon"  # the due date is near and measures are still open
    OVERDUE = "overdue"  # the due date has passed and measures are still open
    RETURNED = "returned"  # the coordination returned an answer with a comment
    REVISION_OPENED = "revision_opened"  # a Fortschreibungsabfrage asks for proposals


class Notification(Model):
    """One mail to one person for one occasion: the outbox.

    Written in the transaction that causes it (opening a round, returning an answer) or by
    the daily schedule, sent afterwards by ``flask hki notify`` or the worker; the unique
    constraint makes "at most once per person and occasion" a fact of the database, and a
    failed send is tried again later (``attempts``, ``last_error``).
    """

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("occasion", "subject", "user_id"),
                      Index(None, "sent_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion: Mapped[Occasion] = mapped_column(code_enum(Occasion, "occasion"))
    #: What it is about: "round:<id>", "update:<id>" or "revision:<query id>".
    subject: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("update_rounds.id"))
    update_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Failed sends so far; after MAX_ATTEMPTS the notification is given up.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")

    user: Mapped[User] = relationship()
    round: Mapped[UpdateRound | None] = relationship()
    update: Mapped[StatusUpdate | None] = relationship()
