"""Freigabe for a real round: filters, several accepted together, answers for the script."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.extensions import db
from hki.updates.models import UpdateReview
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth
from tests.factories import Factories


def _round_with_answers(make: Factories) -> dict[str, int]:
    """Two offices, two fields, one round: five answers waiting."""
    plan = make.plan()
    sprache, arbeit = make.goal(make.field(plan, title="Sprache")), make.goal(
        make.field(plan, title="Arbeit"))
    vhs, jc = make.organisation("VHS"), make.organisation("Jobcenter")
    office = make.user(role=Role.OFFICE, organisation=vhs)
    ids: dict[str, int] = {"plan": plan.id, "vhs": vhs.id, "jc": jc.id,
                           "arbeit": arbeit.field_id}
    for goal, lead, n in ((sprache, vhs, 3), (arbeit, jc, 2)):
        for _ in range(n):
            m = make.measure(goal, lead=lead)
            make.update(m, Status.IN_PROGRESS, as_of=date(2024, 6, 30), progress=40,
                        author=office, accepted=False)
    ids["round"] = make.round(plan).id
    make.commit()
    return ids


def test_filter_by_round_office_and_field(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    ids = _round_with_answers(make)
    auth.login_as(Role.COORDINATOR)
    page = client.get("/freigabe").get_data(as_text=True)
    assert page.count("data-review-item") == 5
    assert 'aria-label="5 offen"' in page  # the count in the menu
    for query, expected in ((f"runde={ids['round']}", 5), (f"fachstelle={ids['jc']}", 2),
                            (f"feld={ids['arbeit']}", 2),
                            (f"fachstelle={ids['vhs']}&feld={ids['arbeit']}", 0)):
        html = client.get(f"/freigabe?{query}").get_data(as_text=True)
        assert html.count("data-review-item") == expected, query
    assert "in dieser Auswahl (insgesamt 5)" in client.get(
        f"/freigabe?fachstelle={ids['jc']}").get_data(as_text=True)


def test_accept_selected_together_and_twice_stores_once(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    ids = _round_with_answers(make)
    auth.login_as(Role.COORDINATOR)
    html = client.get(f"/freigabe?fachstelle={ids['vhs']}").get_data(as_text=True)
    chosen = re.findall(r'type="checkbox" name="auswahl" value="(\d+)"', html)
    assert len(chosen) == 3
    data = {"auswahl": chosen[:2], "zurueck": f"/freigabe?fachstelle={ids['vhs']}"}
    first = client.post("/freigabe/auswahl", data=data)
    assert first.status_code == 302 and first.location.endswith(f"fachstelle={ids['vhs']}")
    again = client.post("/freigabe/auswahl", data=data, follow_redirects=True)  # double click
    assert "0 Sachstände freigegeben." in again.get_data(as_text=True)
    with app.app_context():
        accepted = db.session.scalar(select(func.count()).select_from(UpdateReview).where(
            UpdateReview.decision == Decision.ACCEPTED))
        assert accepted == 2
    assert 'aria-label="3 offen"' in client.get("/").get_data(as_text=True)


def test_a_decision_answers_the_pages_script_in_json(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    _round_with_answers(make)
    auth.login_as(Role.COORDINATOR)
    html = client.get("/freigabe").get_data(as_text=True)
    first = re.search(r'type="checkbox" name="auswahl" value="(\d+)"', html)
    assert first is not None
    url = f"/sachstaende/{first.group(1)}/entscheiden"
    json_headers = {"Accept": "application/json"}
    ok = client.post(url, data={"entscheidung": "freigeben"}, headers=json_headers)
    assert ok.status_code == 200 and ok.json is not None
    assert ok.json["ok"] is True and ok.json["open"] == 4 and "freigegeben" in ok.json["message"]
    twice = client.post(url, data={"entscheidung": "freigeben"}, headers=json_headers)
    assert twice.status_code == 409 and twice.json is not None
    assert twice.json["message"] == "Über diesen Sachstand wurde bereits entschieden."


def test_accept_all_of_a_filtered_list_in_one_click(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    ids = _round_with_answers(make)
    auth.login_as(Role.COORDINATOR)
    html = client.get(f"/freigabe?fachstelle={ids['jc']}").get_data(as_text=True)
    assert "Alle 2 Sachstände dieser Auswahl freigeben" in html
    all_ids = re.findall(r'type="hidden" name="auswahl" value="(\d+)"', html)
    after = client.post("/freigabe/auswahl", data={
        "auswahl": all_ids, "zurueck": f"/freigabe?fachstelle={ids['jc']}"},
        follow_redirects=True).get_data(as_text=True)
    assert "2 Sachstände freigegeben." in after
    assert "In dieser Auswahl wartet kein Sachstand; insgesamt warten 3." in after
    assert "Es warten keine Sachstände auf Freigabe." not in after
