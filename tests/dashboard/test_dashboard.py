"""Dashboard and finder: every figure is the length of the list it links to; search is
German-aware on both backends; "Stand am" is the plan as it stood; queries do not grow."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from hki.auth.audit import effective_from
from hki.dashboard import queries, search
from hki.plan.history import plan_as_of
from hki.reports.data import end_of_day
from hki.vocab import Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories

BEFORE = datetime(2023, 1, 1, tzinfo=UTC)


def plan_with_history(make: Factories) -> int:
    """Two fields; late, silent and finished measures; a rename and an addition later."""
    with effective_from(BEFORE):
        plan = make.plan(title="HKI Musterstadt")
        sprache = make.goal(make.field(plan, title="Sprache"))
        arbeit = make.goal(make.field(plan, title="Arbeit"))
        vhs, jc = make.organisation("VHS"), make.organisation("Jobcenter")
        kita = make.measure(sprache, title="Kita-Sprachförderung", lead=vhs,
                            end_date=date(2023, 12, 31))
        cafe = make.measure(sprache, title="Sprachcafé", lead=vhs)
        job = make.measure(arbeit, title="Jobcoaching", lead=jc, end_date=date(2023, 6, 30))
        make.measure(arbeit, title="Mentoring", lead=jc)
        make.commit()
    make.update(kita, Status.DELAYED, as_of=date(2023, 10, 1), progress=30, note="Personal fehlt")
    make.update(cafe, Status.IN_PROGRESS, as_of=date(2024, 5, 1), progress=40,
                note="Zwei Gruppen in der Straße am Park")
    make.update(job, Status.COMPLETED, as_of=date(2023, 6, 30), progress=100)
    make.commit()
    with effective_from(datetime(2024, 7, 1, tzinfo=UTC)):
        cafe.title = "Sprachcafé für Eltern"
        make.measure(arbeit, title="Ausbildungslotsen", lead=jc)
        make.commit()
    return plan.id


def _count_in(html: str) -> int:
    heading = re.search(r'<h2 id="result-heading"[^>]*>(\d+) Maßnahme', html)
    assert heading, html[:2000]
    return int(heading.group(1))


def test_every_dashboard_figure_equals_its_list(
    client: FlaskClient, auth: Auth, make: Factories, app: Flask
) -> None:
    with app.app_context():
        plan_id = plan_with_history(make)
    auth.login_as(Role.READER)
    for stand in ("", "2024-06-30"):
        page = client.get(f"/plaene/{plan_id}/dashboard" + (f"?stand={stand}" if stand else ""))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        links = re.findall(r'<a href="(/plaene/\d+/massnahmen[^"]*)">(\d+)</a>', html)
        assert len(links) >= 2 * 10 + 3  # status × field table, totals, late, silent
        for href, figure in links:
            url = unescape(href)
            if stand:
                assert f"stand={stand}" in url
            listed = client.get(url).get_data(as_text=True)
            assert _count_in(listed) == int(figure), url
            rows = len(re.findall(r"<tr><td\b", listed))
            assert rows == int(figure), url
    # The figures themselves are right. At 30.06.2024 only Kita is late (ended 2023,
    # verzögert); Jobcoaching ended too but is abgeschlossen. Today (after the default end
    # 31.12.2024) every unfinished measure is late: Kita, Sprachcafé, Mentoring, Lotsen.
    for stand, expected in (("?stand=2024-06-30", "1"), ("", "4")):
        html = client.get(f"/plaene/{plan_id}/dashboard{stand}").get_data(as_text=True)
        late = re.search(r'href="([^"]*ueberfaellig=1[^"]*)">(\d+)<', html)
        assert late and late.group(2) == expected, stand
        listed = client.get(unescape(late.group(1))).get_data(as_text=True)
        assert "Kita-Sprachförderung" in listed and "Jobcoaching" not in listed


def test_finder_filters_sort_and_bad_input(
    client: FlaskClient, auth: Auth, make: Factories, app: Flask
) -> None:
    with app.app_context():
        plan_id = plan_with_history(make)
    auth.login_as(Role.READER)
    base = f"/plaene/{plan_id}/massnahmen"

    def titles(query: str) -> list[str]:
        html = client.get(base + query).get_data(as_text=True)
        return re.findall(r'<td data-label="Maßnahme"><a href="/massnahmen/\d+">([^<]+)</a>', html)

    assert titles("?federfuehrung=jobcenter&sort=titel") == [
        "Ausbildungslotsen", "Jobcoaching", "Mentoring"]
    assert titles("?status=ohne&status=delayed") == [
        "Kita-Sprachförderung", "Mentoring", "Ausbildungslotsen"]
    assert titles("?sort=fortschritt&absteigend=1")[:2] == ["Jobcoaching", "Sprachcafé für Eltern"]
    assert titles("?q=1.1") == ["Kita-Sprachförderung", "Sprachcafé für Eltern"]
    assert titles("?bis=2022-12") == titles("")  # all start before
    bad = client.get(base + "?stand=31.02.2024&status=x&still_monate=-1&von=kaputt")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and _count_in(html) == 5
    for message in ("ist kein Datum", "unbekannter Umsetzungsstand", "zwischen 1 und 240",
                    "JJJJ-MM"):
        assert message in html
    # Filters live in the URL: the sort links keep them.
    link = re.search(r'<a href="([^"]*sort=titel[^"]*)">Maßnahme',
                     client.get(base + "?federfuehrung=VHS").get_data(as_text=True))
    assert link and parse_qs(urlsplit(unescape(link.group(1))).query)["federfuehrung"] == ["VHS"]


def test_search_is_german_aware_on_this_backend(app_ctx: Flask, make: Factories) -> None:
    plan_id = plan_with_history(make)
    view = queries.plan_view(plan_id)

    def found(q: str) -> list[str]:
        return [r.entry.measure.title for r in queries.select(view, queries.Filters(q=q))]

    assert found("Sprachfoerderung") == found("Sprachförderung") == ["Kita-Sprachförderung"]
    assert found("sprach") == ["Kita-Sprachförderung", "Sprachcafé für Eltern"]
    assert found("Strasse Park") == ["Sprachcafé für Eltern"]  # in a note, ß as ss
    assert found("personal") == ["Kita-Sprachförderung"]
    assert found("Eltern") == ["Sprachcafé für Eltern"]  # the rename is in the document
    assert found("'\"; DROP TABLE measures; --") == []
    assert search.fold("Größe Straße Übung") == "groesse strasse uebung"


def test_stand_am_equals_plan_as_of(app_ctx: Flask, make: Factories) -> None:
    plan_id = plan_with_history(make)
    day = date(2024, 6, 30)
    view = queries.plan_view(plan_id, day)
    tree = plan_as_of(plan_id, end_of_day(day))
    assert tree is not None
    assert [(r.entry.measure.number, r.entry.measure.title) for r in view.rows] == [
        (m.number, m.title) for m in tree.measures()]
    assert "Sprachcafé" in [r.entry.measure.title for r in view.rows]  # before the rename
    assert "Ausbildungslotsen" not in [r.entry.measure.title for r in view.rows]
    statuses = {r.entry.measure.title: r.entry.update.status if r.entry.update else None
                for r in view.rows}
    assert statuses["Jobcoaching"] is Status.COMPLETED and statuses["Mentoring"] is None


def test_same_queries_for_small_and_large_plans(
    app_ctx: Flask, make: Factories, count_queries: QueryCounter, client: FlaskClient,
    auth: Auth
) -> None:
    small = plan_with_history(make)
    with effective_from(BEFORE):
        big = make.plan()
        for _ in range(4):
            goal = make.goal(make.field(big))
            for _ in range(9):
                make.update(make.measure(goal), as_of=date(2024, 5, 1), note="Kurs läuft")
        make.commit()
        big_id = big.id
    auth.login_as(Role.READER)

    def count(url: str) -> int:
        before = count_queries.count
        assert client.get(url).status_code == 200
        return count_queries.count - before

    for page in ("dashboard", "massnahmen?q=kurs&status=in_progress",
                 "dashboard?stand=2024-06-30"):
        assert count(f"/plaene/{small}/{page}") == count(f"/plaene/{big_id}/{page}"), page
