"""The Abschlussbericht of a plan at its end: results, indicators, fate of every measure.

Built from the same pieces as the Sachstandsbericht (``gather`` at the plan's last day, as
known at K) plus the Fortschreibung's decisions and the status at each year's end. It is
rendered by the same WeasyPrint pipeline (tagged PDF/UA-1) and issued through the same job
queue (``Report.kind`` = final).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from hki.extensions import db
from hki.i18n import datum
from hki.plan.models import Measure, Plan
from hki.reports.charts import bars
from hki.reports.data import (
    MeasureEntry,
    NoSuchPlanError,
    ReportData,
    Tally,
    end_of_day,
    gather,
    tally,
)
from hki.reports.narrative import Narrative
from hki.reports.render import MEANINGS
from hki.revision.models import MeasureOutcome
from hki.revision.services import outcomes_of
from hki.vocab import Outcome, Status


@dataclass(frozen=True)
class IndicatorResult:
    """Target against what was reached, for one indicator of one measure."""

    number: str
    measure: str
    name: str
    unit: str
    baseline: float | None
    target: float | None
    achieved: float | None
    achieved_on: date | None

    @property
    def reached(self) -> bool | None:
        """Whether the target was met (in the direction from baseline to target)."""
        if self.target is None or self.achieved is None:
            return None
        if self.baseline is not None and self.target < self.baseline:
            return self.achieved <= self.target
        return self.achieved >= self.target


@dataclass(frozen=True)
class IndicatorSummary:
    """How many indicators have a value, reached their target, missed it, or have none."""

    total: int
    with_value: int
    reached: int
    not_reached: int
    without_target: int
    without_value: int


def summarise(results: list[IndicatorResult]) -> IndicatorSummary:
    """The indicator chapter's summary; the five counts add up to the whole."""
    valued = [i for i in results if i.achieved is not None]
    return IndicatorSummary(
        total=len(results), with_value=len(valued),
        reached=sum(i.reached is True for i in valued),
        not_reached=sum(i.reached is False for i in valued),
        without_target=sum(i.reached is None for i in valued),
        without_value=len(results) - len(valued))


@dataclass(frozen=True)
class Fate:
    """What became of one measure: its last state and, if carried over, where to."""

    entry: MeasureEntry
    reason: str = ""
    successor_number: str | None = None


@dataclass(frozen=True)
class FinalData:
    """Everything the Abschlussbericht shows."""

    report: ReportData
    successor: Plan | None
    #: Not carried over, not dropped: ended with the plan, whatever their status.
    ended: list[Fate]
    carried: list[Fate]
    dropped: list[Fate]
    undecided: list[Fate]
    indicators: list[IndicatorResult]
    #: Per field (number, title): the tally at each year's end and at the plan's end.
    history: list[tuple[str, str, list[tuple[date, Tally]]]]

    @property
    def fates(self) -> list[tuple[str, list[Fate], Tally]]:
        """Each outcome's heading, measures and their final statuses, in report order."""
        rows = [(str(_("Fortgeführt im neuen Plan")), self.carried),
                (str(_("Mit dem Plan beendet")), self.ended),
                (str(_("Entfallen")), self.dropped)]
        if self.undecided:
            rows.append((str(_("Noch nicht entschieden")), self.undecided))
        return [(label, fates, tally([f.entry for f in fates])) for label, fates in rows]

    @property
    def provisional(self) -> bool:
        """Made before the plan's last day ended: later updates may still change it."""
        return self.report.known_at < end_of_day(self.report.stichtag)

    @property
    def indicator_summary(self) -> IndicatorSummary:
        """Counts for the indicator chapter."""
        return summarise(self.indicators)


def _fate(entry: MeasureEntry, outcome: MeasureOutcome | None,
          numbers: dict[int, str]) -> tuple[str, Fate]:
    """Which list the measure belongs to: the decision if there is one, else its status."""
    status = entry.update.status if entry.update else None
    if outcome is None:
        if status is Status.COMPLETED:
            return "ended", Fate(entry)
        if status is Status.DISCONTINUED:
            return "dropped", Fate(entry, entry.update.note if entry.update else "")
        return "undecided", Fate(entry)
    kind = {Outcome.CARRIED_OVER: "carried", Outcome.CLOSED: "ended",
            Outcome.DROPPED: "dropped"}[outcome.outcome]
    successor = numbers.get(outcome.successor_measure_id or 0)
    return kind, Fate(entry, outcome.reason, successor)


def year_ends(start: date, end: date) -> list[date]:
    """31 December of every year the plan ran, and its last day."""
    days = [date(year, 12, 31) for year in range(start.year, end.year)]
    return [*days, end]


def gather_final(plan_id: int, known_at: datetime,
                 narrative: Narrative | None = None) -> FinalData:
    """The Abschlussbericht's data for the plan's last day, as known at ``known_at``.

    ``narrative``: the coordination's texts for the plan's last day (see
    :mod:`hki.reports.narrative`), shown like the Sachstandsbericht's.
    """
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NoSuchPlanError(plan_id)
    # The tree as finally kept (as the Fortschreibung decided on it), statuses at the end.
    report = gather(plan_id, plan.valid_to, known_at, tree_at=known_at, narrative=narrative)
    outcomes = {k: v for k, v in outcomes_of(db.session, plan).items()
                if v.decided_at <= known_at}
    successor_ids = [o.successor_measure_id for o in outcomes.values() if o.successor_measure_id]
    numbers: dict[int, str] = {}
    if successor_ids:
        rows = db.session.execute(
            select(Measure.id, Measure.number).where(Measure.id.in_(successor_ids)))
        numbers = {measure_id: number for measure_id, number in rows}
    lists: dict[str, list[Fate]] = {"ended": [], "carried": [], "dropped": [],
                                    "undecided": []}
    indicators = []
    for entry in report.entries:
        kind, fate = _fate(entry, outcomes.get(entry.measure.id), numbers)
        lists[kind].append(fate)
        for indicator in entry.measure.indicators:
            value = entry.values.get(indicator.id)
            indicators.append(IndicatorResult(
                entry.measure.number, entry.measure.title, indicator.name, indicator.unit,
                indicator.baseline_value, indicator.target_value,
                value.value if value else None, value.as_of if value else None))
    successor = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan_id)).first()
    return FinalData(report, successor, lists["ended"], lists["carried"], lists["dropped"],
                     lists["undecided"], indicators,
                     _history(plan, report, known_at))


def _history(plan: Plan, report: ReportData,
             known_at: datetime) -> list[tuple[str, str, list[tuple[date, Tally]]]]:
    """The tally of each field (as it stands at the end) at every year's end."""
    by_day: dict[date, dict[int, Tally]] = {}
    for day in year_ends(plan.valid_from, plan.valid_to):
        try:
            then = report if day == plan.valid_to else gather(plan.id, day, known_at)
        except NoSuchPlanError:
            continue  # the plan was not yet in hki on that day
        by_day[day] = {b.field.id: b.tally for b in then.fields}
    return [(b.field.number, b.field.title,
             [(day, tallies[b.field.id]) for day, tallies in by_day.items()
              if b.field.id in tallies])
            for b in report.fields]


def render_final_html(data: FinalData, *, stylesheet: str | None = None,
                      preview_bar: Markup | None = None) -> str:
    """The Abschlussbericht's HTML (the PDF is made from it, like the Sachstandsbericht)."""
    charts: list[Any] = [
        bars([(datum(day), tally) for day, tally in rows]) for _n, _t, rows in data.history]
    return render_template(
        "reports/final.html", f=data, r=data.report, statuses=list(Status), charts=charts,
        chart=bars([(f"{b.field.number} {b.field.title}", b.tally)
                    for b in data.report.fields]),
        vocabulary=list(MEANINGS.items()), stylesheet=stylesheet, preview_bar=preview_bar,
        field_notes={b.field.number: data.report.narrative.fields.get(b.field.id, "")
                     for b in data.report.fields})
