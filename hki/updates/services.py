"""Posting and reviewing status updates: append-only, checked by the rules, never committed here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.plan.models import Indicator, IndicatorValue, Measure
from hki.security import Action, can
from hki.updates.models import StatusUpdate, UpdateReview
from hki.updates.notifications import enqueue_returned
from hki.updates.queries import is_corrected
from hki.updates.rules import CheckedUpdate, check_update
from hki.vocab import Decision, PlanState, Status


class InvalidUpdateError(ValueError):
    """The update breaks a status rule; ``errors`` maps field names to German messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Measurement:
    """A new dated value of one of the measure's indicators, given with an update."""

    indicator: Indicator
    value: float
    as_of: date
    source: str = ""


def build_update(
    measure: Measure,
    author: User,
    *,
    as_of: date,
    status: Status,
    progress: int | None,
    note: str,
    previous: Status | None = None,
    corrects: StatusUpdate | None = None,
    measurements: Sequence[Measurement] = (),
) -> tuple[StatusUpdate, list[IndicatorValue]]:
    """Check and build a status update (and its indicator values) without storing them.

    An office's update waits for a coordinator's review; the update of someone who may
    review counts at once (its acceptance is built with it, for the same transaction).
    Indicator values given with it name it and count when it counts.
    Imports build many and flush once; :func:`post_update` builds one and flushes.

    :param corrects: an earlier update of the same measure that this one replaces.
    :raises InvalidUpdateError: if the values break the rules of ``status.md``.
    """
    checked: CheckedUpdate = check_update(
        status, progress, note, finite=measure.end_date is not None, previous=previous
    )
    errors = dict(checked.errors)
    if measure.goal.field.plan.state is PlanState.CLOSED:
        errors["status"] = _("Der Plan ist abgeschlossen; es können keine Sachstände mehr "
                             "erfasst werden.")
    if corrects is not None and (corrects.measure_id != measure.id or not correctable(corrects)):
        errors["corrects"] = _("Dieser Sachstand kann hier nicht korrigiert werden.")
    for m in measurements:
        if m.indicator.measure_id != measure.id or m.indicator.archived_at is not None:
            errors["measurements"] = _("Der Indikator gehört nicht zu dieser Maßnahme.")
    if errors:
        raise InvalidUpdateError(errors)
    now = utcnow()
    counts_at_once = can(author, Action.REVIEW_UPDATES)  # before the update joins the session
    update = StatusUpdate(
        measure=measure, author=author, as_of=as_of, status=status, recorded_at=now,
        progress=checked.progress, note=note.strip(), corrects=corrects,
    )
    if counts_at_once:
        update.review = UpdateReview(decision=Decision.ACCEPTED, reviewer=author,
                                     decided_at=now)
    values = [IndicatorValue(indicator=m.indicator, value=m.value, as_of=m.as_of,
                             source=m.source.strip(), recorded_by=author, recorded_at=now,
                             update=update)
              for m in measurements]
    return update, values


def post_update(
    session: AnySession,
    measure: Measure,
    author: User,
    **values: Any,
) -> StatusUpdate:
    """Append a status update (and any indicator values) to a measure's history.

    Takes the keyword arguments of :func:`build_update`.
    """
    update, measured = build_update(measure, author, **values)
    session.add(update)
    session.add_all(measured)
    session.flush()
    return update


def _returned(update: StatusUpdate) -> bool:
    return update.review is not None and update.review.decision is Decision.RETURNED


def correctable(update: StatusUpdate) -> bool:
    """Not returned, and not already replaced by an accepted correction."""
    return not _returned(update) and not is_corrected(update.id)


class ReviewError(ValueError):
    """The update cannot be reviewed (already decided, or no reason for returning it)."""


def review(
    session: AnySession, update: StatusUpdate, reviewer: User, decision: Decision,
    comment: str = "",
) -> UpdateReview:
    """Accept an office's update, or return it with a comment the office will see."""
    if update.review is not None:
        raise ReviewError(_("Über diesen Sachstand wurde bereits entschieden."))
    if update.measure.goal.field.plan.state is PlanState.CLOSED:
        raise ReviewError(_("Der Plan ist abgeschlossen; über Sachstände wird nicht mehr "
                            "entschieden."))
    if decision is Decision.RETURNED and not comment.strip():
        raise ReviewError(_("Bitte schreiben Sie der Fachstelle, was sie ändern soll."))
    update.review = UpdateReview(decision=decision, reviewer=reviewer, comment=comment.strip())
    session.flush()
    if decision is Decision.RETURNED:
        enqueue_returned(session, update)  # the office hears of it by mail
    return update.review


def accept_many(session: AnySession, updates: Sequence[StatusUpdate], reviewer: User) -> int:
    """Accept several updates at once (the Freigabe of a round); how many were accepted.

    Those decided already are skipped; all in the caller's transaction.
    """
    accepted = 0
    for update in updates:
        if update.review is None:
            review(session, update, reviewer, Decision.ACCEPTED)
            accepted += 1
    return accepted
