"""Dates as people type them (TT.MM.JJJJ) and as browsers send them (JJJJ-MM-TT), everywhere."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.i18n import local_today, parse_day
from hki.updates.models import StatusUpdate
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories


@pytest.mark.parametrize(("written", "day"), [
    ("30.11.2026", date(2026, 11, 30)), ("1.2.2026", date(2026, 2, 1)),
    ("2026-11-30", date(2026, 11, 30)), (" 30.11.2026 ", date(2026, 11, 30)),
    ("31.02.2026", None), ("30.11.26", None), ("morgen", None), ("", None), (None, None),
])
def test_parse_day(written: str | None, day: date | None) -> None:
    assert parse_day(written) == day


def test_update_form_takes_a_typed_german_date(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    m = make.measure(number="2.1.3")
    make.commit()
    auth.login_as(Role.COORDINATOR)
    response = client.post(f"/massnahmen/{m.id}/sachstand", data={
        "as_of": "30.06.2025", "status": "in_progress", "progress": "40", "note": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(StatusUpdate.as_of)).one() == date(2025, 6, 30)
    page = client.post(f"/massnahmen/{m.id}/sachstand", data={
        "as_of": "31.02.2025", "status": "in_progress", "progress": "40", "note": ""})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "„31.02.2025“ ist kein gültiges Datum" in html
    assert "Bitte geben Sie ein gültiges Datum ein" not in html  # one message, not two


def test_preview_and_stand_take_typed_dates(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = make.measure().goal.field.plan
    make.commit()
    auth.login_as(Role.COORDINATOR)
    today = local_today().strftime("%d.%m.%Y")  # the plan exists from today on
    preview = client.get(f"/plaene/{plan.id}/bericht?stichtag={today}&vergleich=")
    assert preview.status_code == 200
    assert f"Stichtag {today}, Kenntnisstand jetzt." in preview.get_data(as_text=True)
    html = client.get(f"/plaene/{plan.id}/massnahmen?stand={today}").get_data(as_text=True)
    assert "ist kein Datum" not in html
    assert client.get(f"/plaene/{plan.id}/bericht?stichtag=30.13.2024").status_code == 400


def test_preview_button_sends_the_dates_typed_in_the_form(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = make.measure().goal.field.plan
    make.commit()
    auth.login_as(Role.COORDINATOR)
    html = client.get(f"/plaene/{plan.id}/berichte").get_data(as_text=True)
    # A submit button of the form (GET to the preview), not a link fixed at page load.
    assert (f'formaction="/plaene/{plan.id}/bericht" formmethod="get"' in html)
    assert f'href="/plaene/{plan.id}/bericht?stichtag=' not in html
    # The GET form carries no security token (it would end up in the address and logs).
    dates_form = html.split('class="report-dates">', 1)[1].split("</form>", 1)[0]
    assert "csrf_token" not in dates_form
