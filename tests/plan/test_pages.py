"""The read-only pages render real plan data in German, in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask.testing import FlaskClient

from hki.vocab import Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories


def text_of(html: str) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&nbsp;", " ").strip()


def row_of(html: str, number: str) -> str:
    """Text of the table row whose first cell is a measure number."""
    match = re.search(rf'<tr>\s*<td class="number">{re.escape(number)}</td>.*?</tr>', html, re.S)
    assert match, f"no row for {number}"
    return text_of(match.group(0))


def test_overview_shows_tree_with_current_status(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.READER)
    plan = make.plan(title="HKI Musterstadt 2020–2025")
    field = make.field(plan, number="3", title="Ausbildung und Arbeit")
    goal = make.goal(field, number="3.2", title="Übergänge erleichtern")
    lead = make.organisation("Jobcenter Musterstadt")
    m1 = make.measure(goal, number="3.2.1", title="Berufssprachkurse", lead=lead)
    m2 = make.measure(goal, number="3.2.2", title="Mentoring für Auszubildende")
    make.update(m1, Status.IN_PROGRESS, as_of=date(2023, 12, 31), progress=40)
    make.update(m1, Status.DELAYED, as_of=date(2024, 6, 30), progress=45, note="Träger fehlt")
    make.commit()

    html = client.get(f"/plaene/{plan.id}").get_data(as_text=True)
    page = text_of(html)
    assert '<html lang="de">' in html
    assert "HKI Musterstadt 2020–2025" in page
    assert "3 Ausbildung und Arbeit" in page and "3.2 Übergänge erleichtern" in page
    assert row_of(html, "3.2.1") == (
        "3.2.1 Berufssprachkurse Jobcenter Musterstadt ▲ verzögert 45 % 30.06.2024"
    )
    assert "ohne Sachstand" in row_of(html, "3.2.2")
    assert m2.title in page
    # Summary table: one delayed, one without any update, two in total.
    assert "▲ verzögert 1" in page
    assert "– ohne Sachstand 1" in page
    assert "Maßnahmen insgesamt 2" in page


def test_overview_query_count_does_not_grow_with_plan(
    make: Factories, client: FlaskClient, auth: Auth, count_queries: QueryCounter
) -> None:
    auth.login_as(Role.READER)

    def queries_for(plan_id: int) -> int:
        before = count_queries.count
        assert client.get(f"/plaene/{plan_id}").status_code == 200
        return count_queries.count - before

    small = make.plan()
    m = make.measure(make.goal(make.field(small)))
    make.update(m)
    big = make.plan()
    for _ in range(3):
        field = make.field(big)
        for _ in range(3):
            goal = make.goal(field)
            for _ in range(4):
                make.update(make.measure(goal), Status.PLANNED, progress=10)
    make.commit()
    assert queries_for(small.id) == queries_for(big.id) <= 7


def test_measure_page_shows_attributes_and_history_newest_first(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.READER)
    m = make.measure(
        title="Sprachcafé im Quartier",
        description="Offener Treff zum Deutschüben.",
        partners=[make.organisation("Stadtbibliothek"), make.organisation("Freiwilligenagentur")],
        start_date=date(2021, 3, 1),
        end_date=None,
    )
    make.indicator(m, name="Besuche pro Jahr", baseline_value=120.0, target_value=1500.5)
    author = make.user(display_name="Stadtbibliothek – Leitung")
    make.update(
        m,
        Status.PLANNED,
        as_of=date(2021, 6, 30),
        progress=10,
        note="Raum gefunden.",
        author=author,
    )
    make.update(
        m,
        Status.ONGOING,
        as_of=date(2023, 12, 31),
        progress=None,
        note="Läuft als Regelangebot.",
        author=author,
        recorded_at=datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
    )
    make.commit()

    page = text_of(client.get(f"/massnahmen/{m.id}").get_data(as_text=True))
    assert "Sprachcafé im Quartier" in page
    assert "Kooperationspartner Freiwilligenagentur, Stadtbibliothek" in page
    assert "Zeitraum 03/2021 – fortlaufend" in page
    assert "Besuche pro Jahr Anzahl 120" in page and "1.500,5" in page
    assert "Aktueller Umsetzungsstand: ↻ Daueraufgabe" in page
    # Newest first; the recording time is shown in Berlin time (UTC+1 in January).
    assert page.index("Läuft als Regelangebot.") < page.index("Raum gefunden.")
    assert "Eingetragen von Stadtbibliothek – Leitung am 15.01.2024, 10:30 Uhr" in page


def test_measure_without_update_says_so(make: Factories, client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.READER)
    m = make.measure()
    make.commit()
    page = text_of(client.get(f"/massnahmen/{m.id}").get_data(as_text=True))
    assert "Zu dieser Maßnahme liegt noch kein Sachstand vor." in page


def test_unknown_pages_get_german_404(client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.READER)
    for url in ("/plaene/424242", "/massnahmen/424242", "/gibt-es-nicht"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Seite nicht gefunden" in response.get_data(as_text=True)


def test_index_lists_plans_or_explains_how_to_load_demo(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.READER)
    assert "Es ist noch kein Handlungskonzept angelegt." in client.get("/").get_data(as_text=True)
    plan = make.plan(title="HKI Beispielstadt")
    make.commit()
    html = client.get("/").get_data(as_text=True)
    assert f'href="/plaene/{plan.id}"' in html and "HKI Beispielstadt" in html


def test_health_is_public_and_checks_database(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
