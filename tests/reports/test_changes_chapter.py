"""The report's "Änderungen seit" chapter tells the news, and its overdue list agrees with
the dashboard for the same Stichtag and Kenntnisstand."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask import Flask
from flask.testing import FlaskClient

from hki.auth.audit import effective_from
from hki.plan.models import Measure
from hki.reports.data import MeasureEntry, gather
from hki.reports.render import render_html
from hki.vocab import Role, Status
from tests.conftest import Auth
from tests.factories import Factories

BASE, S = date(2024, 12, 31), date(2025, 12, 31)
K = datetime(2026, 1, 15, tzinfo=UTC)


def _plan(make: Factories) -> int:
    with effective_from(datetime(2021, 1, 1, tzinfo=UTC)):
        plan = make.plan(title="HKI Friesenstadt 2021–2026")
        goal = make.goal(make.field(plan, title="Sprache und Bildung"))
        vhs = make.organisation("Volkshochschule Friesenstadt gGmbH")

        def measure(title: str, start: date = date(2021, 3, 1),
                    end: date | None = date(2026, 12, 31)) -> int:
            return make.measure(goal, title=title, lead=vhs, start_date=start,
                                end_date=end).id

        ids = {
            "first": measure("Sprachcafés in den Stadtteiltreffs"),
            "silent": measure("Elternbegleiter an Grundschulen"),
            "done": measure("Integrationskurse mit Kinderbetreuung"),
            "later": measure("Mentoring für Ausbildung", start=date(2026, 3, 1)),
            "late": measure("Willkommensmappe", end=date(2025, 6, 30)),
            "ongoing": measure("Sprachkursberatung", end=None),
        }
        make.commit()
    m = {k: make.session.get_one(Measure, v) for k, v in ids.items()}
    make.update(m["first"], Status.IN_PROGRESS, as_of=date(2025, 9, 30), progress=40,
                recorded_at=datetime(2025, 12, 31, 12, tzinfo=UTC))
    make.update(m["silent"], Status.IN_PROGRESS, as_of=date(2024, 6, 30), progress=20)
    make.update(m["done"], Status.COMPLETED, as_of=date(2023, 8, 31), progress=100)
    make.update(m["late"], Status.IN_PROGRESS, as_of=date(2024, 3, 31), progress=60)
    make.update(m["ongoing"], Status.ONGOING, as_of=date(2022, 12, 31), progress=None)
    make.commit()
    return plan.id


def titles(entries: list[MeasureEntry]) -> list[str]:
    return [e.measure.title for e in entries]


def test_news_first_reports_running_silence_and_overdue(
    app: Flask, make: Factories, client: FlaskClient, auth: Auth,
) -> None:
    with app.app_context():
        plan_id = _plan(make)
        r = gather(plan_id, S, K, compare_with=BASE)
        c = r.changes
        assert c is not None
        # From "ohne Sachstand" to "in Umsetzung 40 %" in the period: news, listed.
        assert titles(c.first) == ["Sprachcafés in den Stadtteiltreffs"]
        # Only running measures wait for news; the completed one and the one that starts
        # after the Stichtag are only counted.
        assert titles(c.silent) == ["Elternbegleiter an Grundschulen", "Willkommensmappe",
                                    "Sprachkursberatung"]
        assert c.silent_settled == 2
        assert titles(r.overdue) == ["Willkommensmappe"]
        html = render_html(r)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " "))
    assert "Erstmals berichtet (1)" in text
    assert "Laufende Maßnahmen ohne neuen Sachstand seit dem 31.12.2024 (3)" in text
    assert "2 weitere Maßnahmen ohne neuen Sachstand sind abgeschlossen, entfallen" in text
    assert ("Über ihr geplantes Ende hinaus und nicht umgesetzt (1)" in text
            and "Ende geplant 30.06.2025; in Umsetzung, 60 %" in text)
    # The dashboard counts the same measures for the same Stichtag.
    auth.login_as(Role.READER)
    dashboard = client.get(f"/plaene/{plan_id}/dashboard?stand={S.isoformat()}")
    late = re.search(r'kpi-value">(?:<a[^>]*>)?(\d+)(?:</a>)?</span> über ihr Ende hinaus',
                     dashboard.get_data(as_text=True))
    assert late is not None and int(late.group(1)) == len(r.overdue)
