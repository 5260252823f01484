"""CSRF on every state change, and offices confined to their own measures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki import PROJECT_ROOT
from hki.extensions import db
from hki.updates.models import StatusUpdate
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories


def update_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatusUpdate)) or 0


def form(status: str = "in_progress", progress: str = "30") -> dict[str, str]:
    return {
        "as_of": date.today().isoformat(),
        "status": status,
        "progress": progress,
        "note": "Läuft.",
    }


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    m = make.measure()
    make.commit()
    auth.login_as(Role.COORDINATOR)
    before = update_count(app)
    response = client.post(f"/massnahmen/{m.id}/sachstand", data=form())
    assert response.status_code == 400
    assert "Es wurde nichts gespeichert" in response.get_data(as_text=True)
    assert update_count(app) == before
    # Logging out is a state change too.
    assert client.post("/abmelden").status_code == 400
    assert client.get("/").status_code == 200

    # With the token from the page, the same post goes through.
    page = client.get(f"/massnahmen/{m.id}/sachstand").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match
    ok = client.post(f"/massnahmen/{m.id}/sachstand", data={**form(), "csrf_token": match[1]})
    assert ok.status_code == 302
    assert update_count(app) == before + 1


def test_office_posts_only_for_own_measures(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    own_org = make.organisation("Jobcenter")
    own = make.measure(lead=own_org)
    foreign = make.measure()
    make.commit()
    auth.login_as(Role.OFFICE, organisation=own_org)

    assert client.post(f"/massnahmen/{own.id}/sachstand", data=form()).status_code == 302
    assert update_count(app) == 1
    # Direct URL tampering and extra form fields naming another measure: refused.
    response = client.post(f"/massnahmen/{foreign.id}/sachstand", data=form())
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)
    client.post(
        f"/massnahmen/{own.id}/sachstand",
        data={**form(), "measure_id": str(foreign.id), "measure": str(foreign.id)},
    )
    with app.app_context():
        measure_ids = set(db.session.scalars(select(StatusUpdate.measure_id)))
    assert measure_ids == {own.id}
    # The measure page offers the button only where it may be used.
    assert "Sachstand eintragen" in client.get(f"/massnahmen/{own.id}").get_data(as_text=True)
    assert "Sachstand eintragen" not in client.get(f"/massnahmen/{foreign.id}").get_data(
        as_text=True
    )


def test_templates_have_no_inline_script_or_style() -> None:
    for path in Path(PROJECT_ROOT, "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path
