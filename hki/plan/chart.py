"""Geometry of the small indicator chart on the measure page, computed on the server.

The page must work without JavaScript and under a strict CSP, so the chart is plain SVG
drawn by a Jinja macro (``templates/_macros/chart.html``) from the numbers computed here.
Everything that can go wrong with real data is handled here rather than in the template:
no values, a single value or date, equal values, missing baseline or target, negative,
huge or non-finite numbers. The chart is only a picture; the data table next to it is
the real data, and the aria summary says the essentials in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from babel.numbers import format_compact_decimal
from flask_babel import format_decimal, format_scientific, get_locale, ngettext
from flask_babel import gettext as _

from hki.i18n import datum, zahl
from hki.plan.models import Indicator, IndicatorValue

#: Default size of the drawing in SVG user units; the viewBox lets it scale down.
WIDTH = 640
HEIGHT = 260
#: Rough width of one character of the 12-unit tick font, to size the left margin.
CHAR_WIDTH = 7.0
#: Space kept between the axes and the outermost points so markers are not cut off.
INNER_PAD = 14.0
#: Larger magnitudes are not placed on the axis (like NaN): the range arithmetic would
#: overflow. No real indicator comes near; the table still lists such a value.
LARGEST = 1e100
#: Above this magnitude tick labels are shortened ("2,5 Mio."); the table has exact values.
COMPACT_FROM = 1e6
#: Babel's compact formats end at billions (Bio.); beyond, scientific notation is shorter.
SCIENTIFIC_FROM = 1e15


@dataclass(frozen=True)
class Tick:
    """One labelled axis tick; ``pos`` is x for the time axis and y for the value axis."""

    pos: float
    label: str
    #: SVG ``text-anchor`` for the label, so the outermost labels stay inside the drawing.
    anchor: str = "middle"


@dataclass(frozen=True)
class Point:
    """One measured value placed in the drawing."""

    x: float
    y: float
    value: float
    as_of: date
    #: Tooltip text, e.g. "30.06.2024: 165".
    label: str


@dataclass(frozen=True)
class Label:
    """A text placed in the drawing; ``y`` is the text's baseline, as in SVG."""

    text: str
    x: float
    y: float
    #: SVG ``text-anchor``: start, middle or end.
    anchor: str


@dataclass(frozen=True)
class Reference:
    """Baseline or target: a marker (if dated) and a text label at a value's height."""

    value: float
    when: date | None
    y: float
    #: Where the marker sits; ``None`` when the reference has no date to place it on.
    x: float | None
    label: Label


@dataclass(frozen=True)
class Chart:
    """Everything the macro needs to draw one indicator; all coordinates in user units."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    title: str
    summary: str
    points: tuple[Point, ...]
    polyline: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    baseline: Reference | None
    target: Reference | None
    #: Height of the zero line when zero lies strictly inside the value range.
    zero_y: float | None
    #: The latest value written next to its point, so the end of the line reads at a glance.
    last_label: Label | None

    @property
    def label(self) -> str:
        """Accessible name of the SVG: what it shows and the essentials in words."""
        return f"{self.title}: {self.summary}"

    @property
    def marker_radius(self) -> float:
        """Point markers shrink for long series, so they do not merge into a bead chain."""
        spacing = (self.right - self.left) / max(1, len(self.points))
        return round(max(2.0, min(4.5, spacing / 3)), 1)

    @property
    def drawable(self) -> bool:
        """Whether there is anything to draw at all (values, baseline or target)."""
        return bool(self.points or self.baseline or self.target)


def indicator_chart(indicator: Indicator, width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Lay out an indicator's values, baseline and target as a line chart.

    Needs an app context (German number and date formatting via Babel), no request.
    """
    values = sorted(
        (v for v in indicator.values if _finite(v.value) is not None),
        key=lambda v: (v.as_of, v.id or 0),
    )
    baseline = _finite(indicator.baseline_value)
    target = _finite(indicator.target_value)
    baseline_date = indicator.baseline_date if baseline is not None else None
    target_date = indicator.target_date if target is not None else None

    numbers = [v.value for v in values]
    numbers += [n for n in (baseline, target) if n is not None]
    y_lo, y_hi, y_values, y_step = _value_scale(numbers)
    y_labels = _tick_labels(y_values, y_step)

    left = max(40.0, min(width * 0.4, CHAR_WIDTH * max(map(len, y_labels), default=1) + 14))
    top, right, bottom = 28.0, width - 24.0, height - 34.0

    def y_of(value: float) -> float:
        return bottom - (value - y_lo) / (y_hi - y_lo) * (bottom - top)

    dates = [v.as_of for v in values]
    dates += [d for d in (baseline_date, target_date) if d is not None]
    x_lo, x_hi = _date_range(dates)
    inner_left, inner_right = left + INNER_PAD, right - INNER_PAD

    def x_of(day: date) -> float:
        span = (x_hi - x_lo).days
        return inner_left + (day - x_lo).days / span * (inner_right - inner_left)

    points = tuple(
        Point(
            x=_r(x_of(v.as_of)),
            y=_r(y_of(v.value)),
            value=v.value,
            as_of=v.as_of,
            label=f"{datum(v.as_of)}: {_number(v.value)}",
        )
        for v in values
    )
    x_ticks = _x_ticks(x_lo, x_hi, x_of, left, right) if dates else ()
    y_ticks = tuple(
        Tick(_r(y_of(t)), label, "end") for t, label in zip(y_values, y_labels, strict=True)
    )

    # Labels go where they hide no data and no other label: target, baseline, last value.
    layout = _Layout(left, right, bottom, width, points)
    base_xy = None
    if baseline is not None:
        base_xy = (x_of(baseline_date) if baseline_date else inner_left, y_of(baseline))
        layout.block(base_xy[0] - 7, base_xy[1] - 7, base_xy[0] + 7, base_xy[1] + 7)
    target_ref = None
    if target is not None:
        ty = y_of(target)
        tx = x_of(target_date) if target_date else None
        text = _("Zielwert %(value)s", value=_number(target))
        mid = (left + right) / 2
        label = layout.place(text, [
            (right, ty - 7, "end"), (right, ty + 16, "end"),
            (left + 6, ty - 7, "start"), (left + 6, ty + 16, "start"),
            (mid, ty - 7, "middle"), (mid, ty + 16, "middle"),
        ])
        layout.line(left, ty, right, ty)
        target_ref = Reference(value=target, when=target_date, y=_r(ty),
                               x=None if tx is None else _r(tx), label=label)
    base_ref = None
    if baseline is not None and base_xy is not None:
        bx, by = base_xy
        text = _("Ausgangswert %(value)s", value=_number(baseline))
        label = layout.place(text, [
            (bx + 9, by - 8, "start"), (bx + 9, by + 17, "start"),
            (bx - 9, by - 8, "end"), (bx - 9, by + 17, "end"),
            (bx + 10, by + 4, "start"), (bx - 10, by + 4, "end"),
        ])
        base_ref = Reference(value=baseline, when=baseline_date, y=_r(by), x=_r(bx),
                             label=label)
    last_label = None
    if points:
        px, py = points[-1].x, points[-1].y
        last_label = layout.place(_number(points[-1].value), [
            (px + 9, py + 4, "start"), (px, py - 10, "middle"),
            (px, py + 19, "middle"), (px - 9, py + 4, "end"),
        ])

    zero_y = _r(y_of(0.0)) if y_lo < 0 < y_hi else None
    title = _("Verlauf %(name)s", name=indicator.name)
    if indicator.unit:
        title = f"{title} ({indicator.unit})"
    return Chart(
        width=width,
        height=height,
        left=_r(left),
        top=top,
        right=right,
        bottom=bottom,
        title=title,
        summary=_summary(baseline, baseline_date, target, target_date, values),
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        baseline=base_ref,
        target=target_ref,
        zero_y=zero_y,
        last_label=last_label,
    )


Box = tuple[float, float, float, float]


class _Layout:
    """Finds a free spot for each label among a few candidates (first free one wins).

    Occupied are the value points, the line between them, the reference markers, the
    target line and the labels placed so far. If no candidate is free, the first is used:
    an overlap is ugly, but nothing is lost, since the table next to the chart has the data.
    """

    def __init__(
        self, left: float, right: float, bottom: float, width: int, points: tuple[Point, ...]
    ) -> None:
        self.area: Box = (left + 2, 2.0, width - 2.0, bottom - 2)
        self.boxes: list[Box] = [(p.x - 6, p.y - 6, p.x + 6, p.y + 6) for p in points]
        self.segments = [(a.x, a.y, b.x, b.y) for a, b in pairwise(points)]

    def block(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Mark a rectangle as occupied."""
        self.boxes.append((x0, y0, x1, y1))

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Mark a line as occupied."""
        self.segments.append((x0, y0, x1, y1))

    def place(self, text: str, candidates: list[tuple[float, float, str]]) -> Label:
        """Put the label on the first free candidate and mark its box as occupied."""
        labels = [Label(text, _r(x), _r(y), anchor) for x, y, anchor in candidates]
        boxes = [_text_box(label) for label in labels]
        chosen = next((i for i, box in enumerate(boxes) if self._free(box)), 0)
        self.boxes.append(boxes[chosen])
        return labels[chosen]

    def _free(self, box: Box) -> bool:
        ax0, ay0, ax1, ay1 = self.area
        if box[0] < ax0 or box[1] < ay0 or box[2] > ax1 or box[3] > ay1:
            return False
        if any(_overlap(box, other) for other in self.boxes):
            return False
        return not any(_crosses(box, segment) for segment in self.segments)


def _text_box(label: Label) -> Box:
    """Approximate bounding box of a bold 12-unit label (sans-serif, ~0.65 em a character)."""
    width = len(label.text) * (CHAR_WIDTH + 0.8)
    x0 = {"start": label.x, "middle": label.x - width / 2, "end": label.x - width}[label.anchor]
    return (x0 - 2, label.y - 11, x0 + width + 2, label.y + 3)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _crosses(box: Box, segment: tuple[float, float, float, float]) -> bool:
    """Whether a line segment passes through a box (sampled every two units: enough here)."""
    x0, y0, x1, y1 = segment
    steps = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / 2))
    return any(
        box[0] <= x0 + (x1 - x0) * k / steps <= box[2]
        and box[1] <= y0 + (y1 - y0) * k / steps <= box[3]
        for k in range(steps + 1)
    )


def _finite(value: float | None) -> float | None:
    """Treat NaN, infinities and absurd sizes like a missing number: they cannot be placed."""
    return value if value is not None and abs(value) <= LARGEST else None


def _r(value: float) -> float:
    """Round coordinates so the markup stays short; 0.1 unit is far below a pixel."""
    return round(value, 1)


def _number(value: float) -> str:
    """:func:`zahl`, except for sizes where Babel's decimal arithmetic gives up (~1e26)."""
    return zahl(value) if abs(value) < SCIENTIFIC_FROM else str(format_scientific(value, "0.##E0"))


def _with_date(text: str, when: date | None) -> str:
    return f"{text} ({datum(when)})" if when else text


def _summary(
    baseline: float | None,
    baseline_date: date | None,
    target: float | None,
    target_date: date | None,
    values: list[IndicatorValue],
) -> str:
    """The chart in one German sentence, for screen readers and as the SVG description."""
    parts = [
        _with_date(_("Ausgangswert %(value)s", value=_number(baseline)), baseline_date)
        if baseline is not None else _("kein Ausgangswert"),
        _with_date(_("Zielwert %(value)s", value=_number(target)), target_date)
        if target is not None else _("kein Zielwert"),
    ]
    if values:
        last = values[-1]
        parts.append(_with_date(_("letzter Wert %(value)s", value=_number(last.value)),
                                last.as_of))
        parts.append(ngettext("%(num)d Messwert", "%(num)d Messwerte", len(values)))
    else:
        parts.append(_("noch keine Messwerte"))
    return ", ".join(parts)


def _value_scale(numbers: list[float]) -> tuple[float, float, list[float], float]:
    """A "nice" value range with its ticks (1, 2 or 5 times a power of ten).

    Equal values get a small range around them instead of dividing by zero; a range
    that is close to zero is extended to zero, so small changes do not look dramatic.
    """
    if not numbers:
        return 0.0, 1.0, [0.0, 0.5, 1.0], 0.5
    lo, hi = min(numbers), max(numbers)
    if hi - lo <= abs(hi) * 1e-9:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = (max(0.0, lo - pad) if lo >= 0 else lo - pad), hi + pad
    if 0 < lo <= hi - lo:
        lo = 0.0
    elif 0 < -hi <= hi - lo:
        hi = 0.0
    step = _nice_step((hi - lo) / 4)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    count = min(last - first, 12)
    ticks = [_clean((first + k) * step, step) for k in range(count + 1)]
    return ticks[0], ticks[-1], ticks, step


def _nice_step(raw: float) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that is at least ``raw``.

    No 2.5: its ticks need one more decimal than the step's magnitude (37,5 – 40 – 42,5).
    """
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * magnitude >= raw * (1 - 1e-9):
            return factor * magnitude
    return 10.0 * magnitude


def _clean(value: float, step: float) -> float:
    """Drop float noise such as 0.30000000000000004 from a tick value."""
    digits = max(0, 2 - math.floor(math.log10(step)))
    cleaned = round(value, digits)
    return 0.0 if cleaned == 0 else cleaned


def _tick_labels(ticks: list[float], step: float) -> list[str]:
    """German tick labels with as many decimals as the step needs; short for huge numbers.

    Abbreviations ("2,5 Mio.", "1E41") start where long numbers would crowd the axis; the
    exact values are in the table.
    """
    size = max(abs(t) for t in ticks)
    if size >= SCIENTIFIC_FROM:
        return ["0" if t == 0 else str(format_scientific(t, "0.##E0")) for t in ticks]
    if size >= COMPACT_FROM:
        # German has no short form for thousands: 500.000 stays as it is, beside "1 Mio.".
        locale = get_locale()
        return [
            str(format_compact_decimal(t, locale=locale, fraction_digits=2))
            if abs(t) >= COMPACT_FROM else str(format_decimal(t, format="#,##0"))
            for t in ticks
        ]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return [str(format_decimal(t, format=pattern)) for t in ticks]


def _date_range(dates: Iterable[date]) -> tuple[date, date]:
    """The range of dates to show; a single date gets half a year either side."""
    days = list(dates)
    if not days:
        anchor = date(2000, 1, 1)  # Never shown: without dates there are no x ticks.
        return anchor, anchor + timedelta(days=1)
    lo, hi = min(days), max(days)
    if lo == hi:
        return lo - timedelta(days=182), hi + timedelta(days=183)
    return lo, hi


def _x_ticks(
    lo: date, hi: date, x_of: Callable[[date], float], left: float, right: float
) -> tuple[Tick, ...]:
    """Years for long ranges, TT.MM.JJJJ on month starts for short ones; at most a few."""
    if (hi - lo).days >= 2 * 365:
        years = range(lo.year + (lo != date(lo.year, 1, 1)), hi.year + 1)
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 1000) if len(years) / s <= 7)
        days = [date(y, 1, 1) for y in years if y % step == 0 or step == 1]
        labels = [str(d.year) for d in days]
    else:
        months = (hi.year - lo.year) * 12 + hi.month - lo.month
        step = next(s for s in (1, 2, 3, 6, 12) if months / s <= 4)
        start = lo.year * 12 + lo.month - 1 + (lo.day != 1)
        candidates = (start + k for k in range(months + 1))
        days = [date(m // 12, m % 12 + 1, 1) for m in candidates if m % step == 0]
        days = [d for d in days if lo <= d <= hi] or [lo, hi]
        labels = [datum(d) for d in days]
    ticks = []
    for day, label in zip(days, labels, strict=True):
        x = x_of(day)
        half = len(label) * CHAR_WIDTH / 2
        anchor = "start" if x - half < left - 8 else "end" if x + half > right + 20 else "middle"
        ticks.append(Tick(_r(x), label, anchor))
    return tuple(ticks)

