"""The indicator chart: geometry that survives real data, and its place on the measure page."""

from __future__ import annotations

import math
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hki.plan.chart import Chart, _overlap, _text_box, indicator_chart
from hki.plan.models import Indicator, IndicatorValue
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories

Series = list[tuple[date, float]]


def indicator(
    series: Series | None = None,
    *,
    baseline: float | None = None,
    baseline_date: date | None = None,
    target: float | None = None,
    target_date: date | None = None,
) -> Indicator:
    """A transient indicator (never saved): the chart only reads attributes."""
    return Indicator(
        id=7, name="Teilnehmende", unit="Anzahl",
        baseline_value=baseline, baseline_date=baseline_date,
        target_value=target, target_date=target_date,
        values=[IndicatorValue(as_of=d, value=v) for d, v in series or []],
    )


def assert_inside(chart: Chart) -> None:
    """Every drawn coordinate lies in the viewBox, points inside the plot area."""
    for p in chart.points:
        assert chart.left <= p.x <= chart.right and chart.top <= p.y <= chart.bottom
    for ref in (chart.baseline, chart.target):
        if ref is not None:
            assert chart.top <= ref.y <= chart.bottom
            assert ref.x is None or chart.left <= ref.x <= chart.right
            assert 0 <= ref.label.y <= chart.height and 0 <= ref.label.x <= chart.width
    for t in chart.x_ticks:
        assert chart.left <= t.pos <= chart.right
    for t in chart.y_ticks:
        assert chart.top - 0.1 <= t.pos <= chart.bottom + 0.1
    assert 0 < chart.left < chart.right <= chart.width
    assert 0 < chart.top < chart.bottom < chart.height
    labels = [t.label for t in chart.y_ticks]
    assert len(labels) == len(set(labels)) >= 2, labels


def value_at(chart: Chart, y: float) -> float:
    """Read a value back from a y coordinate, using the first and last y tick."""
    first, last = chart.y_ticks[0], chart.y_ticks[-1]
    v0, v1 = (float(t.label.replace(".", "").replace(",", ".")) for t in (first, last))
    return v0 + (y - first.pos) / (last.pos - first.pos) * (v1 - v0)


FULL: Series = [(date(2023, 6, 30), 150.0), (date(2022, 6, 30), 130.0), (date(2024, 6, 30), 165.0)]


def test_points_inside_viewbox_in_date_order(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator(FULL, baseline=120, baseline_date=date(2021, 1, 1),
                                      target=200, target_date=date(2025, 12, 31)))
    assert_inside(chart)
    assert [p.as_of for p in chart.points] == sorted(d for d, _ in FULL)
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert chart.polyline == " ".join(f"{p.x},{p.y}" for p in chart.points)
    # Baseline before the first value, target marker after the last one.
    assert chart.baseline and chart.target and chart.baseline.x is not None
    assert chart.target.x is not None
    assert chart.baseline.x < xs[0] and chart.target.x > xs[-1]
    # Higher values are drawn higher (smaller y).
    assert [p.y for p in chart.points] == sorted((p.y for p in chart.points), reverse=True)


def test_values_and_target_share_one_scale(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator(FULL, baseline=120, target=200))
    assert chart.target and chart.baseline
    assert value_at(chart, chart.target.y) == pytest.approx(200, abs=0.2)
    assert value_at(chart, chart.baseline.y) == pytest.approx(120, abs=0.2)
    for p in chart.points:
        assert value_at(chart, p.y) == pytest.approx(p.value, abs=0.2)


def test_summary_and_ticks_are_german(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator(
        [(date(2022, 6, 30), 1100.0), (date(2024, 6, 30), 1234.5)],
        baseline=120, baseline_date=date(2021, 1, 1), target=1500.5, target_date=date(2025, 12, 31),
    ))
    assert chart.summary == (
        "Ausgangswert 120 (01.01.2021), Zielwert 1.500,5 (31.12.2025), "
        "letzter Wert 1.234,5 (30.06.2024), 2 Messwerte"
    )
    assert chart.label == f"Verlauf Teilnehmende (Anzahl): {chart.summary}"
    assert [t.label for t in chart.x_ticks] == ["2021", "2022", "2023", "2024", "2025"]
    assert "1.000" in [t.label for t in chart.y_ticks]
    assert chart.target and chart.target.label.text == "Zielwert 1.500,5"
    assert chart.last_label and chart.last_label.text == "1.234,5"
    assert chart.points[-1].label == "30.06.2024: 1.234,5"


def test_short_period_gets_day_month_year_ticks(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator([(date(2024, 1, 15), 3.0), (date(2024, 9, 20), 4.0)]))
    labels = [t.label for t in chart.x_ticks]
    assert 2 <= len(labels) <= 5
    assert all(re.fullmatch(r"\d\d\.\d\d\.2024", label) for label in labels), labels


def test_no_values_shows_baseline_and_target_only(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator(baseline=120, baseline_date=date(2021, 1, 1),
                                      target=200, target_date=date(2025, 12, 31)))
    assert chart.drawable and chart.points == () and chart.polyline == ""
    assert chart.summary.endswith("noch keine Messwerte")
    assert_inside(chart)


def test_nothing_to_draw(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator())
    assert not chart.drawable
    assert chart.summary == "kein Ausgangswert, kein Zielwert, noch keine Messwerte"


def test_one_value_sits_in_the_middle(app_ctx: Flask) -> None:
    chart = indicator_chart(indicator([(date(2024, 6, 30), 42.0)]))
    assert_inside(chart)
    (point,) = chart.points
    assert point.x == pytest.approx((chart.left + chart.right) / 2, abs=10)
    assert chart.summary.endswith("letzter Wert 42 (30.06.2024), 1 Messwert")


@pytest.mark.parametrize("value", [0.0, 5.0, -3.0, 1e9])
def test_equal_values_do_not_divide_by_zero(app_ctx: Flask, value: float) -> None:
    series = [(date(2022, 1, 1), value), (date(2023, 1, 1), value), (date(2024, 1, 1), value)]
    chart = indicator_chart(indicator(series, baseline=value, target=value))
    assert_inside(chart)
    assert len({p.y for p in chart.points}) == 1


EDGE_CASES: dict[str, tuple[Series, float | None, float | None]] = {
    "missing baseline": (FULL, None, 200.0),
    "missing target": (FULL, 120.0, None),
    "negative": ([(date(2022, 1, 1), -40.0), (date(2023, 1, 1), -12.5)], -50.0, -5.0),
    "crossing zero": ([(date(2022, 1, 1), -4.0), (date(2023, 1, 1), 7.0)], -10.0, 10.0),
    "huge": ([(date(2022, 1, 1), 3.2e12), (date(2023, 1, 1), 4.1e12)], 1e12, 5e12),
    "enormous": ([(date(2022, 1, 1), 3e40), (date(2023, 1, 1), 4e41)], None, None),
    "tiny": ([(date(2022, 1, 1), 0.001), (date(2023, 1, 1), 0.004)], 0.0, 0.005),
    "far above target": ([(date(2022, 1, 1), 9e5), (date(2023, 1, 1), 1.2e6)], 10.0, 20.0),
    "same day": ([(date(2023, 1, 1), 1.0), (date(2023, 1, 1), 2.0)], None, None),
    "not finite": ([(date(2022, 1, 1), math.nan), (date(2023, 1, 1), 4.0),
                    (date(2024, 1, 1), math.inf)], -math.inf, math.nan),
    "long period": ([(date(1990, 1, 1), 1.0), (date(2024, 1, 1), 2.0)], 0.0, 3.0),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_stay_inside_the_drawing(app_ctx: Flask, case: str) -> None:
    series, baseline, target = EDGE_CASES[case]
    chart = indicator_chart(indicator(series, baseline=baseline, target=target))
    assert_inside(chart)
    assert len(chart.x_ticks) <= 8
    assert chart.y_ticks[0].pos > chart.y_ticks[-1].pos
    assert (chart.baseline is None) == (baseline is None or not math.isfinite(baseline))


def test_labels_keep_clear_of_points_and_each_other(app_ctx: Flask) -> None:
    # The last value sits just above the target at the right end, where the target label
    # would go first; it has to move.
    chart = indicator_chart(indicator(
        [(date(2021, 1, 31), 38.0), (date(2021, 7, 31), 30.0), (date(2022, 7, 31), 21.0)],
        baseline=45, baseline_date=date(2020, 7, 1), target=14, target_date=date(2022, 7, 31),
    ))
    assert chart.target and chart.baseline and chart.last_label
    labels = [chart.target.label, chart.baseline.label, chart.last_label]
    boxes = [_text_box(label) for label in labels]
    for box in boxes:
        assert not any(_overlap(box, (p.x - 4, p.y - 4, p.x + 4, p.y + 4)) for p in chart.points)
    for n, box in enumerate(boxes):
        assert not any(_overlap(box, other) for other in boxes[n + 1:])


def test_zero_line_only_when_values_cross_zero(app_ctx: Flask) -> None:
    assert indicator_chart(indicator(EDGE_CASES["crossing zero"][0])).zero_y is not None
    assert indicator_chart(indicator(FULL)).zero_y is None


class SvgParser(HTMLParser):
    """Collects the attributes of SVG elements and the rows of the values tables."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self._in_values = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "table":
            self._in_values = "indicator-values" in (attributes.get("class") or "")
        elif tag == "tr" and self._in_values:
            self.rows.append([])
        elif tag in ("td", "th") and self._in_values:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._in_values = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


def test_measure_page_shows_chart_and_values_table(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.READER)
    m = make.measure()
    ind = make.indicator(m, name="Besuche pro Jahr", baseline_value=120.0,
                         baseline_date=date(2021, 1, 1), target_value=1500.5,
                         target_date=date(2025, 12, 31), data_source="Zählung")
    for as_of, value, source in [(date(2024, 6, 30), 1234.5, "Halbjahresbericht"),
                                 (date(2022, 12, 31), 480.0, ""),
                                 (date(2023, 12, 31), 1020.25, "Jahresbericht")]:
        make.session.add(IndicatorValue(indicator=ind, as_of=as_of, value=value, source=source))
    make.indicator(m, name="Ehrenamtliche", target_value=-3.5)
    make.commit()

    response = client.get(f"/massnahmen/{m.id}")
    assert response.status_code == 200
    page = SvgParser()
    page.feed(response.get_data(as_text=True))

    svgs = page.all("svg")
    assert len(svgs) == 2
    chart = svgs[0]
    assert chart["role"] == "img" and chart["viewbox"] == "0 0 640 260"
    assert chart["aria-label"] == (
        "Verlauf Besuche pro Jahr (Anzahl): Ausgangswert 120 (01.01.2021), "
        "Zielwert 1.500,5 (31.12.2025), letzter Wert 1.234,5 (30.06.2024), 3 Messwerte"
    )
    (polyline,) = page.all("polyline")
    assert len((polyline["points"] or "").split()) == 3
    assert len(page.all("circle")) == 3
    # The CSP forbids inline styles, so the SVG must do without them.
    assert not any("style" in attrs for _, attrs in page.elements)
    assert any(line.get("stroke-dasharray") for line in page.all("line"))

    assert page.rows[:6] == [
        ["Datum", "Wert", "Quelle"],
        ["01.01.2021 Ausgangswert", "120", "Zählung"],
        ["31.12.2022", "480", "–"],
        ["31.12.2023", "1.020,25", "Jahresbericht"],
        ["30.06.2024", "1.234,5", "Halbjahresbericht"],
        ["31.12.2025 Zielwert", "1.500,5", "–"],
    ]
    # An indicator without values still gets its target drawn and says it has no values.
    assert svgs[1]["aria-label"] == (
        "Verlauf Ehrenamtliche (Anzahl): kein Ausgangswert, Zielwert -3,5, noch keine Messwerte"
    )
    assert page.rows[6:] == [
        ["Datum", "Wert", "Quelle"],
        ["Noch keine Messwerte"],
        ["ohne Datum Zielwert", "-3,5", "–"],
    ]
