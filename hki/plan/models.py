"""Models of the plan tree (Handlungskonzept → Handlungsfeld → Ziel → Maßnahme).

Numbers ("2.3.1") are strings, unique within their parent and ordered by ``position``;
the database enforces what it can (uniqueness, foreign keys, date order, vocabularies).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, OptimisticLock, UTCDateTime, Versioned, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import PlanState, Priority

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.updates.models import StatusUpdate

#: Maximum length of titles; long enough for the longest real measure titles we have seen.
TITLE_LENGTH = 300

measure_partners = Table(
    "measure_partners",
    Model.metadata,
    Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), primary_key=True),
)

measure_target_groups = Table(
    "measure_target_groups",
    Model.metadata,
    Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    Column("target_group_id", ForeignKey("target_groups.id"), primary_key=True),
)


class Organisation(Versioned, Model):
    """An office of the city or an outside partner (Jugendamt, VHS, Jobcenter, Verein …)."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Deactivated organisations stay on the measures they led but get no new ones.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())

    def __repr__(self) -> str:
        return f"<Organisation {self.name}>"


class TargetGroup(Versioned, Model):
    """A Zielgruppe used as a tag on measures (e.g. "Neuzugewanderte")."""

    __tablename__ = "target_groups"
    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Plan(OptimisticLock, Versioned, Model):
    """A Handlungskonzept for a period, adopted by the council and continued by a successor."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("valid_to >= valid_from", name="period_in_order"),
        CheckConstraint("title <> ''", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    #: Gebietskörperschaft whose plan this is, e.g. "Stadt Wilhelmshaven".
    city: Mapped[str] = mapped_column(String(200))
    #: Office that keeps the plan (the KMuT), shown on reports as Herausgeber.
    owner_unit: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    state: Mapped[PlanState] = mapped_column(code_enum(PlanState, "state"))
    #: Date of the council decision that adopted the plan.
    adopted_on: Mapped[date | None]
    #: Vorlage number of that decision, as assigned by the council information system.
    adoption_paper_ref: Mapped[str | None] = mapped_column(String(100))
    #: The plan this one continues (Fortschreibung); a plan has at most one successor.
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    fields: Mapped[list[Field]] = relationship(
        back_populates="plan", order_by="Field.position", cascade="all, delete-orphan"
    )
    predecessor: Mapped[Plan | None] = relationship(remote_side=[id])


class PlanNode:
    """Columns shared by fields, goals and measures: a numbered, titled, ordered node."""

    #: Gliederungsnummer such as "2.3.1"; unique within the parent (see ``node_rules``).
    number: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Order among siblings; numbers are labels, not the order.
    position: Mapped[int] = mapped_column(default=0)
    #: Set when the node was archived; archived nodes stay for history and old reports.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def node_rules(table: str, parent_column: str) -> tuple[Index | CheckConstraint, ...]:
    """The constraints every plan node carries.

    Its number is unique among the *active* nodes of its parent: an archived measure keeps
    "2.3.1" for history and old reports, and a new one may take that number.
    """
    active = text("archived_at IS NULL")
    return (
        Index(f"uq_{table}_{parent_column}_number_active", parent_column, "number",
              unique=True, sqlite_where=active, postgresql_where=active),
        CheckConstraint("number <> ''", name="number_not_empty"),
        CheckConstraint("title <> ''", name="title_not_empty"),
    )


class Field(PlanNode, OptimisticLock, Versioned, Model):
    """A Handlungsfeld: first level of the plan, numbered "1", "2", …."""

    __tablename__ = "fields"
    __table_args__ = node_rules("fields", "plan_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    #: In a Fortschreibung: the old plan's field this one continues.
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"), index=True)
    #: In a Fortschreibung's draft: the field this one was merged into (then archived).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"))

    plan: Mapped[Plan] = relationship(back_populates="fields")
    goals: Mapped[list[Goal]] = relationship(
        back_populates="field", order_by="Goal.position", cascade="all, delete-orphan"
    )


class Goal(PlanNode, OptimisticLock, Versioned, Model):
    """A Ziel within a field, numbered "2.3"."""

    __tablename__ = "goals"
    __table_args__ = node_rules("goals", "field_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("fields.id"), index=True)
    #: In a Fortschreibung: the old plan's goal this one continues.
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"), index=True)
    #: In a Fortschreibung's draft: the goal this one was merged into (then archived).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"))

    field: Mapped[Field] = relationship(back_populates="goals")
    measures: Mapped[list[Measure]] = relationship(
        back_populates="goal", order_by="Measure.position", cascade="all, delete-orphan"
    )


class Measure(PlanNode, OptimisticLock, Versioned, Model):
    """A Maßnahme, numbered "2.3.1", led by exactly one organisation.

    Its status is not a column: it is the latest :class:`StatusUpdate` (see
    :mod:`hki.updates.queries`), so it can never drift from the history.
    """

    __tablename__ = "measures"
    __table_args__ = (
        *node_rules("measures", "goal_id"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="timeframe_in_order"),
        CheckConstraint("budget_eur IS NULL OR budget_eur >= 0", name="budget_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    #: The one federführende organisation that answers for the measure.
    lead_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    start_date: Mapped[date]
    #: Planned end; empty means *fortlaufend* (no end date).
    end_date: Mapped[date | None]
    priority: Mapped[Priority] = mapped_column(code_enum(Priority, "priority"))
    funding_note: Mapped[str] = mapped_column(Text, default="")
    #: Planned budget in whole euros, if the plan names one.
    budget_eur: Mapped[int | None]
    #: The measure of the predecessor plan this one continues (Fortschreibung).
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), index=True)

    goal: Mapped[Goal] = relationship(back_populates="measures")
    lead: Mapped[Organisation] = relationship()
    partners: Mapped[list[Organisation]] = relationship(
        secondary=measure_partners, order_by=Organisation.name
    )
    target_groups: Mapped[list[TargetGroup]] = relationship(
        secondary=measure_target_groups, order_by=TargetGroup.name
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="measure", order_by="Indicator.position", cascade="all, delete-orphan"
    )
    updates: Mapped[list[StatusUpdate]] = relationship(back_populates="measure")
    origin: Mapped[Measure | None] = relationship(remote_side=[id])


class Indicator(OptimisticLock, Versioned, Model):
    """A measurable variable of a measure, with baseline and target."""

    __tablename__ = "indicators"
    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    name: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    #: Anzahl, Prozent, Teilnehmende, Einsätze/Jahr …
    unit: Mapped[str] = mapped_column(String(100), default="")
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_date: Mapped[date | None]
    target_value: Mapped[float | None] = mapped_column(Float)
    target_date: Mapped[date | None]
    #: Where values come from, e.g. "Integrationsmonitoring Niedersachsen".
    data_source: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: Set when the indicator was archived (it stays in the history).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    measure: Mapped[Measure] = relationship(back_populates="indicators")
    values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="indicator", order_by="IndicatorValue.as_of"
    )


class IndicatorValue(Audited, Model):
    """A measured value of an indicator on a date (Istwert)."""

    __tablename__ = "indicator_values"
    __table_args__ = (Index(None, "indicator_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    as_of: Mapped[date]
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The status update this value was given with; it counts when that update counts.
    #: Empty for values entered on their own (they count at once).
    update_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id"), index=True)

    indicator: Mapped[Indicator] = relationship(back_populates="values")
    recorded_by: Mapped[User | None] = relationship()
    update: Mapped[StatusUpdate | None] = relationship(back_populates="values")
