"""What a Sachstandsbericht shows for Stichtag S as known at K, in a fixed number of queries.

The rule of ``model.md``: every plan element as it stood at S, and every measure's latest
update with ``as_of ≤ S`` that counted by K. The same (S, K) always gives the same data,
whenever it is gathered. The comparison base is another Stichtag: as the report issued for
it knew it, if there is one (so "changes since the last report" compares with what the
council was shown), otherwise as known at K.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from hki.extensions import db
from hki.i18n import local_zone
from hki.plan.history import FieldAsOf, MeasureAsOf, PlanAsOf, plan_as_of
from hki.plan.models import Field, Goal, Indicator, IndicatorValue, Measure
from hki.reports.models import Report, ReportState
from hki.reports.narrative import Narrative
from hki.updates.models import StatusUpdate
from hki.updates.queries import latest_updates, value_counts
from hki.vocab import ReportKind, Status

#: Count as implemented for the Umsetzungsquote (``status.md`` §3).
IMPLEMENTED = (Status.COMPLETED, Status.ONGOING)
#: Finite measures whose percentage enters the average of running measures.
RUNNING = (Status.IN_PROGRESS, Status.DELAYED)
#: Statuses after which a measure is not "late" however old its end date.
SETTLED = (*IMPLEMENTED, Status.DISCONTINUED)
#: Statuses after which no new Sachstand is expected.
FINISHED = (Status.COMPLETED, Status.DISCONTINUED)


class NoSuchPlanError(LookupError):
    """The plan did not exist at the Stichtag (or not at all)."""


def end_of_day(day: date) -> datetime:
    """The last moment of a local calendar day, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=local_zone()) - timedelta(
        microseconds=1)


@dataclass(frozen=True)
class Tally:
    """Counts per status of a set of measures, with the derived figures beside them."""

    counts: dict[Status, int]
    without_update: int
    total: int
    progress_sum: int = 0
    progress_n: int = 0

    @property
    def quote(self) -> float | None:
        """Umsetzungsquote: (abgeschlossen + Daueraufgabe) / (alle − entfallen), in percent."""
        base = self.total - self.counts[Status.DISCONTINUED]
        return 100 * sum(self.counts[s] for s in IMPLEMENTED) / base if base else None

    @property
    def average_progress(self) -> float | None:
        """Average percentage of finite measures in Umsetzung or verzögert."""
        return self.progress_sum / self.progress_n if self.progress_n else None


def overdue(measure: MeasureAsOf, update: StatusUpdate | None, day: date) -> bool:
    """Past its planned end at ``day`` and not umgesetzt (nor entfallen).

    The one rule for the report's list and the dashboard's figure, so both agree for the
    same Stichtag and Kenntnisstand.
    """
    return (measure.end_date is not None and measure.end_date < day
            and (update is None or update.status not in SETTLED))


def expects_news(entry: MeasureEntry, day: date) -> bool:
    """Begun by plan at ``day`` and neither completed nor dropped: a Sachstand is due."""
    update = entry.update
    return entry.measure.start_date <= day and (update is None or
                                                 update.status not in FINISHED)


def tally(entries: list[MeasureEntry]) -> Tally:
    """Count the entries by their status at the Stichtag."""
    counts = Counter(e.update.status for e in entries if e.update is not None)
    running = [e.update.progress for e in entries if e.update is not None
               and e.update.status in RUNNING and e.update.progress is not None
               and e.measure.end_date is not None]
    return Tally(counts={s: counts.get(s, 0) for s in Status},
                 without_update=sum(e.update is None for e in entries), total=len(entries),
                 progress_sum=sum(p for p in running if p is not None),
                 progress_n=len(running))


@dataclass(frozen=True)
class MeasureEntry:
    """One measure as the report shows it."""

    measure: MeasureAsOf
    update: StatusUpdate | None
    #: The measure's update at the comparison base, if there is a base.
    before: StatusUpdate | None
    #: Latest value per indicator id with ``as_of ≤ S``, recorded by K.
    values: dict[int, IndicatorValue]


@dataclass(frozen=True)
class FieldBlock:
    """A field of action with its goals' measures and its own counts."""

    field: FieldAsOf
    goals: list[tuple[str, str, str, list[MeasureEntry]]]
    tally: Tally

    @property
    def entries(self) -> list[MeasureEntry]:
        """All measure entries of the field in outline order."""
        return [e for _, _, _, items in self.goals for e in items]


@dataclass(frozen=True)
class Changes:
    """What changed between the comparison base and the Stichtag."""

    base: date
    #: The Kenntnisstand of the base: the issued base report's own K, or the report's K.
    base_known_at: datetime
    #: Whether the base is an issued report (then ``base_known_at`` is that report's K).
    base_is_report: bool = False
    new: list[MeasureEntry] = field(default_factory=list)
    dropped: list[MeasureAsOf] = field(default_factory=list)
    completed: list[MeasureEntry] = field(default_factory=list)
    newly_delayed: list[MeasureEntry] = field(default_factory=list)
    discontinued: list[MeasureEntry] = field(default_factory=list)
    changed: list[MeasureEntry] = field(default_factory=list)
    #: Measures whose first Sachstand ever falls into the period ("erstmals berichtet").
    first: list[MeasureEntry] = field(default_factory=list)
    #: Running measures without a Sachstand describing a day after the base.
    silent: list[MeasureEntry] = field(default_factory=list)
    #: How many others have none either: completed, dropped, or not begun by plan.
    silent_settled: int = 0


@dataclass(frozen=True)
class ReportData:
    """Everything the report template needs."""

    plan: PlanAsOf
    stichtag: date
    known_at: datetime
    fields: list[FieldBlock]
    total: Tally
    changes: Changes | None
    #: Numbers of the measures (of the predecessor plan) that measures here continue.
    origins: dict[int, str] = field(default_factory=dict)
    #: Measures past their planned end and not umgesetzt (rule: :func:`overdue`).
    overdue: list[MeasureEntry] = field(default_factory=list)
    #: The coordination's own words (Vorbemerkung, Einschätzung, Ausblick, per field).
    narrative: Narrative = field(default_factory=Narrative)

    @property
    def entries(self) -> list[MeasureEntry]:
        """All measure entries in outline order."""
        return [e for block in self.fields for e in block.entries]


def _all_measure_ids(plan_id: int) -> Select[int]:
    """Every measure ever in the plan, archived ones included (history decides)."""
    return (select(Measure.id).join(Measure.goal).join(Goal.field)
            .where(Field.plan_id == plan_id))


def _updates(plan_id: int, day: date, known_at: datetime) -> dict[int, StatusUpdate]:
    stmt = latest_updates(_all_measure_ids(plan_id), as_of=day, known_at=known_at)
    return {u.measure_id: u for u in db.session.scalars(stmt)}


def latest_indicator_values(plan_id: int, day: date,
                            known_at: datetime) -> dict[int, IndicatorValue]:
    """Each indicator's latest value up to the Stichtag, as recorded by K (one query)."""
    ranked = (
        select(IndicatorValue.id, func.row_number().over(
            partition_by=IndicatorValue.indicator_id,
            order_by=(IndicatorValue.as_of.desc(), IndicatorValue.recorded_at.desc(),
                      IndicatorValue.id.desc())).label("rank"))
        .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
        .where(Indicator.measure_id.in_(_all_measure_ids(plan_id)),
               IndicatorValue.as_of <= day, IndicatorValue.recorded_at <= known_at,
               value_counts(known_at))
        .subquery()
    )
    stmt = select(IndicatorValue).join(ranked, ranked.c.id == IndicatorValue.id).where(
        ranked.c.rank == 1)
    return {v.indicator_id: v for v in db.session.scalars(stmt)}


def base_report_known_at(plan_id: int, base: date, known_at: datetime) -> datetime | None:
    """K of the latest report for Stichtag ``base`` that was finished by ``known_at``.

    Finished reports never change and are never deleted, so the answer for a given K is
    the same whenever it is asked: a draft re-rendered later shows the same changes.
    """
    return db.session.scalar(
        select(Report.known_at).where(
            Report.plan_id == plan_id, Report.stichtag == base,
            Report.kind == ReportKind.PROGRESS,
            Report.state == ReportState.DONE, Report.finished_at <= known_at)
        .order_by(Report.finished_at.desc(), Report.id.desc()).limit(1))


def gather(plan_id: int, stichtag: date, known_at: datetime,
           compare_with: date | None = None, tree_at: datetime | None = None,
           narrative: Narrative | None = None) -> ReportData:
    """Gather the report for Stichtag ``stichtag`` as known at ``known_at``.

    The plan tree is taken as it stood at the end of the Stichtag, or at K if that was
    earlier (nothing after K can be known). Queries: five for the tree, one for the
    updates, one for the indicator values, and with a comparison base seven more (the base
    report's K, its tree and its updates).

    :param tree_at: take the tree as it stood then instead (the Abschlussbericht: the plan
        as it was finally kept, with each measure's status at the plan's end).
    """
    moment = tree_at or min(end_of_day(stichtag), known_at)
    plan = plan_as_of(plan_id, moment)
    if plan is None:
        raise NoSuchPlanError(plan_id)
    updates = _updates(plan_id, stichtag, known_at)
    values = latest_indicator_values(plan_id, stichtag, known_at)
    before_updates: dict[int, StatusUpdate] = {}
    base_plan = None
    base_known_at, reported = known_at, None
    if compare_with is not None:
        reported = base_report_known_at(plan_id, compare_with, known_at)
        base_known_at = reported or known_at
        base_plan = plan_as_of(plan_id, min(end_of_day(compare_with), base_known_at))
        before_updates = _updates(plan_id, compare_with, base_known_at)

    blocks = []
    for f in plan.fields:
        goals = []
        for g in f.goals:
            goals.append((g.number, g.title, g.description, [
                MeasureEntry(m, updates.get(m.id), before_updates.get(m.id),
                             {i.id: values[i.id] for i in m.indicators if i.id in values})
                for m in g.measures]))
        items = [e for _, _, _, entries in goals for e in entries]
        blocks.append(FieldBlock(field=f, goals=goals, tally=tally(items)))
    entries = [e for b in blocks for e in b.entries]
    changes = None
    if compare_with is not None:
        changes = _changes(Changes(base=compare_with, base_known_at=base_known_at,
                                   base_is_report=reported is not None), entries, base_plan,
                           stichtag)
    return ReportData(plan=plan, stichtag=stichtag, known_at=known_at, fields=blocks,
                      total=tally(entries), changes=changes, origins=_origins(entries),
                      overdue=[e for e in entries if overdue(e.measure, e.update, stichtag)],
                      narrative=narrative or Narrative())


def _origins(entries: list[MeasureEntry]) -> dict[int, str]:
    """Origin id → number; one query, and only for a plan that continues another."""
    ids = {e.measure.origin_id for e in entries if e.measure.origin_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(Measure.id, Measure.number).where(Measure.id.in_(ids)))
    return {measure_id: number for measure_id, number in rows}


def _changes(result: Changes, entries: list[MeasureEntry], base_plan: PlanAsOf | None,
             stichtag: date) -> Changes:
    """Compare each measure's state at the Stichtag with its state at the base."""
    base = result.base
    before_ids = {m.id for m in base_plan.measures()} if base_plan else set()
    now_ids = {e.measure.id for e in entries}
    silent_settled = 0
    for e in entries:
        u, b = e.update, e.before
        if e.measure.id not in before_ids:
            result.new.append(e)
        if u is None or u.as_of <= base:
            if expects_news(e, stichtag):
                result.silent.append(e)
            else:
                silent_settled += 1
        if u is None:
            continue
        was = b.status if b else None
        if u.status is Status.COMPLETED and was is not Status.COMPLETED:
            result.completed.append(e)
        elif u.status is Status.DELAYED and was is not Status.DELAYED:
            result.newly_delayed.append(e)
        elif u.status is Status.DISCONTINUED and was is not Status.DISCONTINUED:
            result.discontinued.append(e)
        elif b is None:
            result.first.append(e)
        elif u.status is not b.status or u.progress != b.progress:
            result.changed.append(e)
    if base_plan is not None:
        result.dropped.extend(m for m in base_plan.measures() if m.id not in now_ids)
    return replace(result, silent_settled=silent_settled)

