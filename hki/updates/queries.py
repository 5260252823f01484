"""Reads of status updates: the current status of many measures in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from hki.extensions import db
from hki.plan.models import Field, Goal, IndicatorValue, Measure
from hki.updates.models import StatusUpdate, UpdateReview, UpdateRound
from hki.vocab import Decision

#: The one definition of "latest": by the date described, then by when it was recorded
#: (a later correction for the same date wins), then by id for identical timestamps.
RECENCY = (StatusUpdate.as_of.desc(), StatusUpdate.recorded_at.desc(), StatusUpdate.id.desc())


def _accepted(update_id: Any, known_at: datetime | None) -> ColumnElement[bool]:
    """The update was accepted (by ``known_at``, if given)."""
    condition = and_(UpdateReview.update_id == update_id,
                     UpdateReview.decision == Decision.ACCEPTED)
    if known_at is not None:
        condition = and_(condition, UpdateReview.decided_at <= known_at)
    return exists().where(condition)


def counted(known_at: datetime | None = None) -> ColumnElement[bool]:
    """The rule for which updates count, as known at ``known_at`` (default: now).

    An update counts once a coordinator accepted it (her own updates are accepted as they
    are recorded), unless a correction of it counts too: a correction replaces the
    update it names, whatever date either describes.
    """
    correction = aliased(StatusUpdate)
    corrected = exists().where(
        correction.corrects_id == StatusUpdate.id, _accepted(correction.id, known_at)
    )
    return and_(_accepted(StatusUpdate.id, known_at), ~corrected)


def value_counts(known_at: datetime | None = None) -> ColumnElement[bool]:
    """The rule for which indicator values count, as known at ``known_at``.

    A value given on its own counts at once; one given with a status update counts when the
    update counts – accepted, and not replaced by a correction.
    """
    return or_(IndicatorValue.update_id.is_(None), exists().where(
        StatusUpdate.id == IndicatorValue.update_id, counted(known_at)))


def latest_updates(
    measure_ids: Select[int],
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Select[StatusUpdate]:
    """Select each measure's latest update, in a single query for any number of measures.

    :param measure_ids: a select of the measure ids to consider.
    :param as_of: only updates describing a date up to this Stichtag count.
    :param known_at: only updates accepted up to this moment count (Kenntnisstand).
    """
    ranked = select(
        StatusUpdate.id,
        func.row_number()
        .over(partition_by=StatusUpdate.measure_id, order_by=RECENCY)
        .label("recency_rank"),
    ).where(StatusUpdate.measure_id.in_(measure_ids), counted(known_at))
    if as_of is not None:
        ranked = ranked.where(StatusUpdate.as_of <= as_of)
    if known_at is not None:
        ranked = ranked.where(StatusUpdate.recorded_at <= known_at)
    latest = ranked.subquery()
    return (
        select(StatusUpdate)
        .join(latest, latest.c.id == StatusUpdate.id)
        .where(latest.c.recency_rank == 1)
    )


def plan_measure_ids(plan_id: int) -> Select[int]:
    """Select the ids of all measures of a plan."""
    return (
        select(Measure.id)
        .join(Measure.goal)
        .join(Goal.field)
        .where(Field.plan_id == plan_id, Measure.archived_at.is_(None),
               Goal.archived_at.is_(None), Field.archived_at.is_(None))
    )


def current_updates(
    plan_id: int, *, as_of: date | None = None, known_at: datetime | None = None
) -> dict[int, StatusUpdate]:
    """Map measure id → its latest update, for every measure of a plan that has one.

    A measure missing from the result has no update yet ("ohne Sachstand").
    """
    stmt = latest_updates(plan_measure_ids(plan_id), as_of=as_of, known_at=known_at)
    return {u.measure_id: u for u in db.session.scalars(stmt)}


def update_history(measure_id: int) -> list[StatusUpdate]:
    """All updates of a measure, newest first, with their authors and reviews."""
    stmt = (
        select(StatusUpdate)
        .where(StatusUpdate.measure_id == measure_id)
        .options(joinedload(StatusUpdate.author),
                 joinedload(StatusUpdate.review).joinedload(UpdateReview.reviewer),
                 selectinload(StatusUpdate.values).joinedload(IndicatorValue.indicator))
        .order_by(*RECENCY)
    )
    return list(db.session.scalars(stmt))


def current_updates_of(measure_ids: list[int]) -> dict[int, StatusUpdate]:
    """Map measure id → its update that counts now, for any list of measures (one query)."""
    stmt = latest_updates(select(Measure.id).where(Measure.id.in_(measure_ids)))
    return {u.measure_id: u for u in db.session.scalars(stmt)}


def current_update(measure_id: int) -> StatusUpdate | None:
    """The measure's update that counts now (accepted, not corrected, latest)."""
    stmt = latest_updates(select(Measure.id).where(Measure.id == measure_id))
    return db.session.scalars(stmt).one_or_none()


def returned_draft(measure_id: int) -> StatusUpdate | None:
    """The measure's latest recorded update if the coordination returned it, else ``None``.

    What the office sent back to be reworked: its form opens with it. Anything recorded
    after it (the resubmission, or anyone's newer update) supersedes it.
    """
    latest = db.session.scalars(
        select(StatusUpdate).where(StatusUpdate.measure_id == measure_id)
        .options(joinedload(StatusUpdate.review))
        .order_by(StatusUpdate.recorded_at.desc(), StatusUpdate.id.desc()).limit(1)).first()
    if latest is None or latest.review is None or latest.review.decision is not \
            Decision.RETURNED:
        return None
    return latest


def _undecided() -> ColumnElement[bool]:
    return ~exists().where(UpdateReview.update_id == StatusUpdate.id)


def open_review_count() -> int:
    """How many updates wait for a decision (shown in the menu of those who decide)."""
    return db.session.scalar(select(func.count()).select_from(StatusUpdate)
                             .where(_undecided())) or 0


@dataclass(frozen=True)
class ReviewFilter:
    """Narrowing the Freigabe list to one round, lead office or field of action."""

    #: An update round: the updates of its plan describing a day of its period.
    round: UpdateRound | None = None
    organisation_id: int | None = None
    #: A field of action by id.
    field_id: int | None = None


def awaiting_review(only: ReviewFilter | None = None) -> list[StatusUpdate]:
    """Offices' updates that no coordinator has decided on yet, oldest first."""
    only = only or ReviewFilter()
    stmt = (
        select(StatusUpdate)
        .join(StatusUpdate.measure).join(Measure.goal)
        .where(_undecided())
    )
    if only.round is not None:
        stmt = stmt.join(Goal.field).where(
            Field.plan_id == only.round.plan_id,
            StatusUpdate.as_of.between(only.round.period_start, only.round.stichtag))
    if only.organisation_id is not None:
        stmt = stmt.where(Measure.lead_organisation_id == only.organisation_id)
    if only.field_id is not None:
        stmt = stmt.where(Goal.field_id == only.field_id)
    stmt = stmt.options(
        joinedload(StatusUpdate.author), joinedload(StatusUpdate.corrects),
        joinedload(StatusUpdate.measure).options(
            joinedload(Measure.lead), joinedload(Measure.goal).joinedload(Goal.field)),
        selectinload(StatusUpdate.values).joinedload(IndicatorValue.indicator),
    ).order_by(StatusUpdate.recorded_at, StatusUpdate.id)
    return list(db.session.scalars(stmt))


def is_corrected(update_id: int) -> bool:
    """An accepted correction names this update (it no longer counts)."""
    correction = aliased(StatusUpdate)
    return bool(db.session.scalar(select(exists().where(
        correction.corrects_id == update_id, _accepted(correction.id, None)))))
