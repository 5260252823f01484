"""Stacked bars of the counts per status for each field, as geometry for an SVG.

Never colour alone (``status.md`` §4): each segment has a pattern of its own, a dark
outline, a white gap to its neighbour and, where it is wide enough, its count written in
it; the table above the chart holds the same numbers for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from hki.reports.data import ReportData, Tally
from hki.vocab import Status

#: Drawing area, in SVG user units (the SVG scales to the page width).
WIDTH, LABEL_W, BAR_H, GAP = 720, 230, 22, 10


@dataclass(frozen=True)
class Segment:
    """One status's share of a bar."""

    x: float
    width: float
    key: str  # a status code, or "none" for measures without an update
    count: int

    @property
    def text_x(self) -> float:
        """Centre of the segment, for its count."""
        return self.x + self.width / 2

    @property
    def labelled(self) -> bool:
        """Wide enough to carry its count inside."""
        return self.width >= 16


@dataclass(frozen=True)
class Bar:
    """One field's bar."""

    y: float
    label: str
    total: int
    segments: tuple[Segment, ...]


def _segments(t: Tally, scale: float) -> tuple[Segment, ...]:
    parts = [(s.value, t.counts[s]) for s in Status] + [("none", t.without_update)]
    x, out = float(LABEL_W), []
    for key, count in parts:
        if count:
            width = count * scale
            out.append(Segment(x=round(x, 2), width=round(max(width - 2, 1), 2), key=key,
                               count=count))
            x += width
    return tuple(out)


def bars(rows: list[tuple[str, Tally]]) -> tuple[list[Bar], float]:
    """Labelled bars, all on one scale, and the chart's height (with room for the legend)."""
    most = max((t.total for _label, t in rows), default=0) or 1
    scale = (WIDTH - LABEL_W - 40) / most
    out = [Bar(y=i * (BAR_H + GAP), label=label, total=t.total, segments=_segments(t, scale))
           for i, (label, t) in enumerate(rows)]
    return out, len(out) * (BAR_H + GAP) + 70


def field_bars(report: ReportData) -> tuple[list[Bar], float]:
    """One bar per field of the report."""
    return bars([(f"{b.field.number} {b.field.title}", b.tally) for b in report.fields])
