"""Posting a status update through the page: stored on success, nothing lost on errors."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.updates.models import StatusUpdate
from hki.vocab import Role, Status
from tests.conftest import Auth
from tests.factories import Factories


def stored(app: Flask) -> list[StatusUpdate]:
    with app.app_context():
        return list(db.session.scalars(select(StatusUpdate)))


def test_coordinator_posts_update(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure(number="2.1.3")
    make.commit()
    user = auth.login_as(Role.COORDINATOR)
    response = client.post(
        f"/massnahmen/{m.id}/sachstand",
        data={
            "as_of": "2025-06-30",
            "status": "delayed",
            "progress": "40",
            "note": "Förderbescheid steht aus.",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Der Sachstand für 2.1.3 wurde gespeichert." in page
    assert "Förderbescheid steht aus." in page
    (update,) = stored(app)
    assert (update.as_of, update.status, update.progress) == (date(2025, 6, 30), Status.DELAYED, 40)
    assert update.author_id == user.id and update.recorded_at.tzinfo is not None


def test_invalid_update_keeps_input_and_stores_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure()
    make.commit()
    auth.login_as(Role.COORDINATOR)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    page = client.post(
        f"/massnahmen/{m.id}/sachstand",
        data={
            "as_of": tomorrow,
            "status": "on_hold",
            "progress": "150",
            "note": "",
        },
    ).get_data(as_text=True)
    assert "Das Datum liegt in der Zukunft." in page
    assert "zwischen 0 und 100" in page
    assert "Bei „zurückgestellt“ ist eine Begründung nötig." in page
    assert f'value="{tomorrow}"' in page and 'value="150"' in page
    page = client.post(
        f"/massnahmen/{m.id}/sachstand",
        data={
            "as_of": "2025-01-31",
            "status": "on_hold",
            "progress": "10",
            "note": "",
        },
    ).get_data(as_text=True)
    assert "Bei „zurückgestellt“ ist eine Begründung nötig." in page
    for garbage in ({"as_of": "31.02.2025", "status": "x"}, {"progress": "viel"}, {}):
        response = client.post(f"/massnahmen/{m.id}/sachstand", data={"csrf_token": "", **garbage})
        assert response.status_code == 200
    assert stored(app) == []


def test_form_starts_from_the_current_state(
    client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure()
    make.update(m, Status.DELAYED, progress=35, note="Personal fehlt")
    make.commit()
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/massnahmen/{m.id}/sachstand").get_data(as_text=True)
    assert '<option selected value="delayed">verzögert</option>' in page
    assert re.search(r'<input[^>]*name="progress"[^>]*value="35"', page)
