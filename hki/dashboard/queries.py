"""The council's view: dashboard figures and the measure finder, for "Stand am" any day.

Both read the plan exactly as a report for that day would (``hki.reports.data.gather``
with Kenntnisstand now): the plan as it stood, each measure's latest counting update with
``as_of`` up to the day. That is a fixed number of queries whatever the plan's size.

Every dashboard figure is the length of a finder list: :func:`dashboard` counts with the
same :class:`Filters` and :func:`select` that the finder uses for the link behind the
figure, so a figure and its list cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from hki.dashboard import search
from hki.db import utcnow
from hki.i18n import ascii_int, local_zone, parse_day
from hki.reports.data import MeasureEntry, ReportData, Tally, gather, overdue, tally
from hki.vocab import Priority, Status

#: A search that is a plan number ("2", "2.1", "2.1.3") looks for that number.
NUMBER = re.compile(r"\d+(\.\d+)*")
#: The status filter's value for measures without any update.
WITHOUT = "ohne"
#: Sort keys of the finder (URL value → German label).
SORTS: dict[str, Any] = {
    "nummer": _l("Nummer"), "titel": _l("Titel"), "status": _l("Umsetzungsstand"),
    "fortschritt": _l("Fortschritt"), "datum": _l("Datum des Sachstands"),
    "federfuehrung": _l("Federführung"), "ende": _l("Ende"),
    "relevanz": _l("Treffer (bei einem Suchbegriff)"),
}


def _number_key(number: str) -> tuple[int | str, ...]:
    """Sort "1.10.2" after "1.9.1": numbers part by part."""
    return tuple(int(p) if p.isdigit() else p for p in number.split("."))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clamped to the month's end)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, last)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists


@dataclass(frozen=True)
class Filters:
    """What the finder shows; every field is one URL parameter (bookmarkable)."""

    feld: str = ""
    ziel: str = ""
    federfuehrung: str = ""
    partner: str = ""
    zielgruppe: str = ""
    status: tuple[str, ...] = ()
    prioritaet: str = ""
    #: Timeframe overlaps [von, bis] (months, JJJJ-MM).
    von: str = ""
    bis: str = ""
    #: Past its end date at the Stichtag and not umgesetzt (nor entfallen).
    ueberfaellig: bool = False
    #: No update describing the last N months (or none at all).
    still_monate: int | None = None
    #: Latest update describes this day or later.
    seit: str = ""
    q: str = ""
    sort: str = "nummer"
    absteigend: bool = False

    def params(self, **changes: Any) -> dict[str, Any]:
        """URL parameters of these filters (with ``changes``), only the ones set."""
        filters = replace(self, **changes)
        out: dict[str, Any] = {}
        default_sort = "relevanz" if filters.q else "nummer"  # as parse() reads it back
        for f in fields(filters):
            value = getattr(filters, f.name)
            if f.name == "sort" and value == default_sort:
                continue
            if value in ("", (), None, False):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else (
                "1" if value is True else value)
        return out


@dataclass
class Parsed:
    """Filters read from a URL, and German messages for what could not be used."""

    filters: Filters
    stand: date | None
    errors: list[str] = field(default_factory=list)


def _month(value: str) -> date | None:
    """A month as JJJJ-MM (ASCII digits, plausible year); ``None`` for anything else."""
    return parse_day(f"{value}-01") if len(value) == 7 else None


def parse(args: Mapping[str, Any], getlist: Callable[[str], list[str]]) -> Parsed:
    """Read filters from request arguments; a bad value is dropped with a message."""
    errors: list[str] = []

    def text(name: str, limit: int = 200) -> str:
        return str(args.get(name, "")).strip()[:limit]

    stand: date | None = None
    if text("stand"):
        stand = parse_day(text("stand"))
        if stand is None:
            errors.append(str(_l("„Stand am“ ist kein Datum (TT.MM.JJJJ). Es wird der "
                                 "heutige Stand gezeigt.")))
    statuses = tuple(s for s in getlist("status") if s in {*Status, WITHOUT})
    if len(statuses) != len(getlist("status")):
        errors.append(str(_l("Ein unbekannter Umsetzungsstand wurde nicht berücksichtigt.")))
    priority = text("prioritaet")
    if priority and priority not in set(Priority):
        errors.append(str(_l("Unbekannte Priorität; der Filter wurde nicht berücksichtigt.")))
        priority = ""
    months: int | None = None
    if text("still_monate"):
        months = ascii_int(text("still_monate"), digits=3)
        if months is None or not 1 <= months <= 240:
            errors.append(str(_l("„Ohne Sachstand seit“ braucht eine Zahl von Monaten "
                                 "zwischen 1 und 240.")))
            months = None
    span = {}
    for name in ("von", "bis"):
        span[name] = text(name, 7)
        if span[name] and _month(span[name]) is None:
            errors.append(str(_l("Der Zeitraum braucht Monate in der Form JJJJ-MM.")))
            span[name] = ""
    since = text("seit", 10)
    if since:
        day = parse_day(since)
        if day is None:
            errors.append(str(_l("„Sachstand seit“ ist kein Datum (TT.MM.JJJJ).")))
        since = day.isoformat() if day else ""
    # With a search term the best hits come first, unless another order was chosen.
    sort = text("sort") if text("sort") in SORTS else ("relevanz" if text("q") else "nummer")
    filters = Filters(
        feld=text("feld", 20), ziel=text("ziel", 20), federfuehrung=text("federfuehrung"),
        partner=text("partner"), zielgruppe=text("zielgruppe"), status=statuses,
        prioritaet=priority, von=span["von"], bis=span["bis"],
        ueberfaellig=text("ueberfaellig") == "1", still_monate=months, seit=since,
        q=text("q"), sort=sort, absteigend=text("absteigend") == "1")
    return Parsed(filters, stand, errors)


@dataclass(frozen=True)
class Row:
    """A measure in the finder: its entry and where it sits in the plan."""

    entry: MeasureEntry
    field_number: str
    field_title: str
    goal_number: str
    goal_title: str


@dataclass(frozen=True)
class View:
    """The plan at a Stichtag: the report's data and the rows of all its measures."""

    report: ReportData
    rows: list[Row]
    stand: date
    is_today: bool


def today() -> date:
    """Today in the city's time zone."""
    return datetime.now(local_zone()).date()


def plan_view(plan_id: int, stand: date | None = None) -> View:
    """The plan as it stood at the end of ``stand`` (default today), known now."""
    day = stand or today()
    report = gather(plan_id, day, utcnow())
    rows = [Row(e, b.field.number, b.field.title, number, title)
            for b in report.fields for number, title, _, entries in b.goals for e in entries]
    return View(report, rows, day, day == today())


def _text_match(values: Iterable[str], wanted: str) -> bool:
    wanted = wanted.casefold()
    return any(v.casefold() == wanted for v in values)


def matches(row: Row, f: Filters, stand: date, hits: set[int] | None) -> bool:
    """Whether a measure belongs to the list ``f`` describes, at Stichtag ``stand``."""
    m, u = row.entry.measure, row.entry.update
    status = u.status.value if u else WITHOUT
    checks = (
        not f.feld or row.field_number == f.feld,
        not f.ziel or row.goal_number == f.ziel,
        not f.federfuehrung or _text_match([m.lead], f.federfuehrung),
        not f.partner or _text_match(m.partners, f.partner),
        not f.zielgruppe or _text_match(m.target_groups, f.zielgruppe),
        not f.status or status in f.status,
        not f.prioritaet or m.priority.value == f.prioritaet,
        not f.bis or m.start_date < months_before(_month(f.bis) or stand, -1),
        not f.von or m.end_date is None or m.end_date >= (_month(f.von) or stand),
        not f.ueberfaellig or overdue(m, u, stand),
        f.still_monate is None or u is None
        or u.as_of < months_before(stand, f.still_monate),
        not f.seit or (u is not None and u.as_of >= date.fromisoformat(f.seit)),
        hits is None or m.id in hits,
    )
    return all(checks)


def _sort_key(name: str) -> Callable[[Row], Any]:
    def status(r: Row) -> Any:
        u = r.entry.update
        return (list(Status).index(u.status) if u else len(Status))

    keys: dict[str, Callable[[Row], Any]] = {
        "nummer": lambda r: _number_key(r.entry.measure.number),
        "titel": lambda r: r.entry.measure.title.casefold(),
        "status": status,
        "fortschritt": lambda r: (r.entry.update.progress if r.entry.update
                                  and r.entry.update.progress is not None else -1),
        "datum": lambda r: r.entry.update.as_of if r.entry.update else date.min,
        "federfuehrung": lambda r: r.entry.measure.lead.casefold(),
        "ende": lambda r: r.entry.measure.end_date or date.max,
    }
    main = keys[name]
    return lambda r: (main(r), _number_key(r.entry.measure.number))


def select(view: View, f: Filters) -> list[Row]:
    """The finder's list: the rows ``f`` describes, sorted as it says."""
    hits: set[int] | None = None
    number = f.q.strip().rstrip(".")
    if NUMBER.fullmatch(number):  # "2.1" means the goal 2.1 and its measures
        hits = {r.entry.measure.id for r in view.rows
                if f"{r.entry.measure.number}.".startswith(f"{number}.")}
    elif f.q:
        hits = search.matching_ids(view.report.plan.id, f.q)
    found = [r for r in view.rows if matches(r, f, view.stand, hits)]
    if f.sort == "relevanz":
        wanted = search.terms(f.q)

        def fit(r: Row) -> int:
            m, u = r.entry.measure, r.entry.update
            return search.score([m.description, m.lead, *m.partners, *m.target_groups,
                                 u.note if u else ""], m.title, wanted)

        by_number = sorted(found, key=_sort_key("nummer"))
        return sorted(by_number, key=fit, reverse=not f.absteigend)
    return sorted(found, key=_sort_key(f.sort), reverse=f.absteigend)


@dataclass(frozen=True)
class Figure:
    """A number on the dashboard and the finder filters of the list behind it."""

    count: int
    filters: Filters


@dataclass(frozen=True)
class FieldLine:
    """One field's row of the status table and its progress figures."""

    number: str
    title: str
    by_status: list[Figure]
    total: Figure
    tally: Tally


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows; each count comes with the list it stands for."""

    view: View
    statuses: list[str]
    lines: list[FieldLine]
    totals: list[Figure]
    total: Figure
    tally: Tally
    overdue: Figure
    silent: Figure
    silent_months: int
    latest: list[Row]
    latest_since: date


def dashboard(view: View, silent_months: int, latest_days: int = 90) -> Dashboard:
    """The dashboard figures for ``view``, counted with the finder's own filters."""

    def figure(**kw: Any) -> Figure:
        f = Filters(**kw)
        return Figure(len([r for r in view.rows if matches(r, f, view.stand, None)]), f)

    statuses = [s.value for s in Status] + [WITHOUT]
    lines = []
    for block in view.report.fields:
        number = block.field.number
        lines.append(FieldLine(number, block.field.title,
                               [figure(feld=number, status=(s,)) for s in statuses],
                               figure(feld=number), block.tally))
    since = view.stand.toordinal() - latest_days
    latest_since = date.fromordinal(since)
    latest = sorted((r for r in view.rows if r.entry.update is not None
                     and r.entry.update.as_of >= latest_since),
                    key=lambda r: (r.entry.update.as_of if r.entry.update else date.min,
                                   r.entry.update.recorded_at if r.entry.update else None),
                    reverse=True)
    return Dashboard(
        view=view, statuses=statuses, lines=lines,
        totals=[figure(status=(s,)) for s in statuses], total=figure(),
        tally=tally([r.entry for r in view.rows]),
        overdue=figure(ueberfaellig=True),
        silent=figure(still_monate=silent_months), silent_months=silent_months,
        latest=latest[:10], latest_since=latest_since)


def choices(view: View) -> dict[str, list[str]]:
    """The values the finder's drop-downs offer, from the plan as it stood."""
    measures = [r.entry.measure for r in view.rows]
    return {
        "federfuehrung": sorted({m.lead for m in measures}, key=str.casefold),
        "partner": sorted({p for m in measures for p in m.partners}, key=str.casefold),
        "zielgruppe": sorted({g for m in measures for g in m.target_groups},
                             key=str.casefold),
    }
