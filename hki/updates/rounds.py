"""Update rounds (Sachstandsabfragen): who still owes an answer, and how complete a round is.

Nothing is stored per measure: a measure is answered in a round when it has an update
that describes a day in the round's period and was not returned. So the completion
always agrees with the updates, also after corrections or reviews.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.extensions import db
from hki.plan.models import Field, Goal, Measure, Organisation, Plan
from hki.security import Action, can
from hki.updates.models import StatusUpdate, UpdateReview, UpdateRound
from hki.updates.queries import RECENCY, latest_updates, plan_measure_ids
from hki.vocab import Decision, Status

#: Measures finished before a round's period are not asked about in it.
FINISHED = (Status.COMPLETED, Status.DISCONTINUED)


class Answer(StrEnum):
    """Where a measure stands in a round."""

    OPEN = "open"  # no answer yet (or every answer was returned)
    SUBMITTED = "submitted"  # answered by the office, waiting for the coordinator
    ACCEPTED = "accepted"  # answered and counted


@dataclass(frozen=True)
class RoundMeasure:
    """One measure of a round with its answer state.

    ``update`` is the newest answer in the period that was not returned; ``returned`` is
    the newest returned answer, shown to the office while the measure is open again.
    """

    measure: Measure
    field: Field
    answer: Answer
    update: StatusUpdate | None
    returned: StatusUpdate | None


@dataclass(frozen=True)
class Completion:
    """Answered measures out of all, for one office or one field."""

    label: str
    answered: int
    submitted: int
    total: int

    @property
    def open(self) -> int:
        """Measures still lacking an answer."""
        return self.total - self.answered

    @property
    def percent(self) -> int:
        """Answered share, rounded down (so 100 % means really complete)."""
        return 100 * self.answered // self.total if self.total else 100


#: Without an earlier round or report, a round asks about this many days back by default.
FIRST_PERIOD_DAYS = 365


def default_period_start(session: AnySession, plan: Plan, today: date) -> date:
    """The day after the previous round's (or else issued report's) Stichtag.

    Without either – the plan's first round in hki – a year back, not the plan's start:
    otherwise every Sachstand of years ago would count as an answer and the new round
    would look answered the moment it opens.
    """
    from hki.reports.models import Report, ReportState  # reports import the updates

    last = session.scalar(
        select(UpdateRound.stichtag).where(UpdateRound.plan_id == plan.id)
        .order_by(UpdateRound.stichtag.desc()).limit(1)
    ) or session.scalar(
        select(Report.stichtag).where(Report.plan_id == plan.id,
                                      Report.state == ReportState.DONE)
        .order_by(Report.stichtag.desc()).limit(1))
    if last is not None:
        return last + timedelta(days=1)
    return max(plan.valid_from, today - timedelta(days=FIRST_PERIOD_DAYS))


def open_round(
    session: AnySession, plan: Plan, opened_by: User, *, title: str, period_start: date,
    stichtag: date, due_date: date,
) -> UpdateRound:
    """Open a round; offices see their open measures from now on and get a mail."""
    from hki.updates.notifications import enqueue_round_opened  # imports this module

    rnd = UpdateRound(plan=plan, opened_by=opened_by, title=title.strip(),
                      period_start=period_start, stichtag=stichtag, due_date=due_date)
    session.add(rnd)
    session.flush()
    enqueue_round_opened(session, rnd)
    return rnd


def close_round(session: AnySession, rnd: UpdateRound) -> None:
    """Close a round: offices no longer see it; its figures stay."""
    if rnd.closed_at is None:
        rnd.closed_at = utcnow()
        session.flush()


def open_rounds() -> list[UpdateRound]:
    """Rounds not yet closed, the earliest due first."""
    return list(db.session.scalars(
        select(UpdateRound).where(UpdateRound.closed_at.is_(None))
        .options(joinedload(UpdateRound.plan))
        .order_by(UpdateRound.due_date, UpdateRound.id)
    ))


def rounds_of(plan_id: int) -> list[UpdateRound]:
    """A plan's rounds, the newest Stichtag first."""
    return list(db.session.scalars(
        select(UpdateRound).where(UpdateRound.plan_id == plan_id)
        .order_by(UpdateRound.stichtag.desc(), UpdateRound.id.desc())
    ))


def round_measures(rnd: UpdateRound, lead_organisation_id: int | None = None) -> list[RoundMeasure]:
    """Every active measure of the round's plan (or of one lead office) with its answer.

    Measures already finished before the period (abgeschlossen, entfallen) are not asked
    about again; Daueraufgaben are. Three queries whatever the plan's size: the finished
    ones, the measures with goal, field and lead, then the answers in the period.
    """
    ids = plan_measure_ids(rnd.plan_id)
    if lead_organisation_id is not None:
        ids = ids.where(Measure.lead_organisation_id == lead_organisation_id)
    before = latest_updates(ids, as_of=rnd.period_start - timedelta(days=1)).subquery()
    finished = select(before.c.measure_id).where(before.c.status.in_(FINISHED))
    ids = ids.where(Measure.id.not_in(finished))
    measures = list(db.session.scalars(
        select(Measure).where(Measure.id.in_(ids))
        .options(joinedload(Measure.goal).joinedload(Goal.field), joinedload(Measure.lead),
                 selectinload(Measure.indicators))
        .join(Measure.goal).join(Goal.field)
        .order_by(Field.position, Goal.position, Measure.position)
    ))
    answers: dict[int, list[StatusUpdate]] = defaultdict(list)
    for update in db.session.scalars(
        select(StatusUpdate)
        .where(StatusUpdate.measure_id.in_(ids), StatusUpdate.as_of >= rnd.period_start,
               StatusUpdate.as_of <= rnd.stichtag)
        .options(joinedload(StatusUpdate.review).joinedload(UpdateReview.reviewer),
                 joinedload(StatusUpdate.author))
        .order_by(*RECENCY)
    ):
        answers[update.measure_id].append(update)
    return [_round_measure(m, answers[m.id]) for m in measures]


def _round_measure(measure: Measure, updates: list[StatusUpdate]) -> RoundMeasure:
    """Judge a measure's answers, newest first."""
    replaced = {u.corrects_id for u in updates if u.corrects_id and u.review is not None
                and u.review.decision is Decision.ACCEPTED}
    valid = [u for u in updates if (u.review is None or u.review.decision is Decision.ACCEPTED)
             and u.id not in replaced]
    returned = [u for u in updates if u.review and u.review.decision is Decision.RETURNED]
    update = valid[0] if valid else None
    if any(u.review is not None for u in valid):
        answer = Answer.ACCEPTED
    elif valid:
        answer = Answer.SUBMITTED
    else:
        answer = Answer.OPEN
    return RoundMeasure(measure=measure, field=measure.goal.field, answer=answer,
                        update=update, returned=returned[0] if returned and not valid else None)


def completion(
    rows: Iterable[RoundMeasure], key: Callable[[RoundMeasure], str]
) -> list[Completion]:
    """Answered / submitted / total per group, in the order the groups first appear."""
    groups: dict[str, list[RoundMeasure]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [
        Completion(label=label, total=len(items),
                   answered=sum(r.answer is not Answer.OPEN for r in items),
                   submitted=sum(r.answer is Answer.SUBMITTED for r in items))
        for label, items in groups.items()
    ]


def by_office(row: RoundMeasure) -> str:
    """Group key: the lead office."""
    return row.measure.lead.name


def by_field(row: RoundMeasure) -> str:
    """Group key: the field of action, with its number."""
    return f"{row.field.number} {row.field.title}"


def open_by_office(rows: Iterable[RoundMeasure]) -> dict[Organisation, list[RoundMeasure]]:
    """The measures still lacking an answer, per lead office (for reminders)."""
    result: dict[Organisation, list[RoundMeasure]] = defaultdict(list)
    for row in rows:
        if row.answer is Answer.OPEN:
            result[row.measure.lead].append(row)
    return dict(result)


@dataclass(frozen=True)
class OpenWork:
    """An office's open measures in one round."""

    round: UpdateRound
    measures: list[RoundMeasure]


def open_work_for(user: User) -> list[OpenWork]:
    """"Meine offenen Maßnahmen": per open round, the user's measures still lacking an answer.

    Offices see the measures their organisation leads; coordinators see every measure.
    """
    if user.organisation_id is None and not _sees_all(user):
        return []
    lead = None if _sees_all(user) else user.organisation_id
    work = []
    for rnd in open_rounds():
        rows = [r for r in round_measures(rnd, lead) if r.answer is Answer.OPEN]
        if rows:
            work.append(OpenWork(round=rnd, measures=rows))
    return work


def _sees_all(user: User) -> bool:
    return can(user, Action.RUN_ROUNDS)


def next_open(rnd: UpdateRound, user: User, after: Measure) -> Measure | None:
    """The user's next open measure in the round after ``after``, wrapping around."""
    rows = round_measures(rnd, None if _sees_all(user) else user.organisation_id)
    at = next((i for i, r in enumerate(rows) if r.measure.id == after.id), -1)
    following = rows[at + 1:] + rows[:at + 1]
    return next((r.measure for r in following
                 if r.answer is Answer.OPEN and r.measure.id != after.id), None)
