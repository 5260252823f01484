"""Keeping the plan through its pages: edits, conflicts, bad input, archive and move."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.auth.models import AuditEntry
from hki.db import utcnow
from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.plan.models import Measure
from hki.vocab import Priority, Role
from tests.conftest import Auth, IsolatedClient
from tests.factories import Factories


def audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def measure_form(m: Measure, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": m.number,
        "title": m.title,
        "description": m.description,
        "lead_organisation_id": str(m.lead_organisation_id),
        "partner_ids": [],
        "target_groups": "",
        "start_date": m.start_date.isoformat(),
        "end_date": m.end_date.isoformat() if m.end_date else "",
        "priority": m.priority.value,
        "funding_note": "",
        "budget_eur": "",
        "version": str(m.version),
    }
    data.update(changes)
    return data


def load(app: Flask, measure_id: int) -> Measure:
    with app.app_context():
        m = db.session.get(Measure, measure_id)
        assert m is not None
        db.session.expunge(m)
        return m


def test_coordinator_edits_measure_and_history_shows_it(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    vhs = make.organisation("VHS")
    m = make.measure(title="Sprachcafé", lead=vhs)
    make.commit()
    user = auth.login_as(Role.COORDINATOR)
    before = utcnow()
    response = client.post(
        f"/massnahmen/{m.id}/bearbeiten",
        data=measure_form(
            m,
            title="Sprachcafé im Quartier",
            target_groups="Eltern, Neuzugewanderte, eltern",
            partner_ids=[str(vhs.id)],
            budget_eur="12000",
            priority="high",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = load(app, m.id)
    assert (saved.title, saved.priority, saved.budget_eur) == (
        "Sprachcafé im Quartier",
        Priority.HIGH,
        12000,
    )
    page = client.get(f"/massnahmen/{m.id}").get_data(as_text=True)
    assert "Änderungsverlauf" in page
    assert "Titel: „Sprachcafé“ → „Sprachcafé im Quartier“" in page
    assert user.display_name in page
    with app.app_context():
        then, now = (
            plan_as_of(m.goal.field.plan_id, before),
            plan_as_of(saved.goal_id and m.goal.field.plan_id, utcnow()),
        )
    assert then is not None and now is not None
    assert then.measures()[0].title == "Sprachcafé"
    assert now.measures()[0].target_groups == ("Eltern", "Neuzugewanderte")
    assert now.measures()[0].partners == ("VHS",)


def test_two_coordinators_edit_the_same_measure(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure(title="Lotsenprojekt")
    make.commit()
    anna = auth.login_as(Role.COORDINATOR)
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    bert = make.user(role=Role.COORDINATOR, display_name="Bert Beispiel")
    make.commit()
    with other.session_transaction() as session:
        session["_user_id"] = bert.get_id()
        session["last_seen"] = utcnow().timestamp()

    # Both open the form at version 1.
    for c in (client, other):
        assert 'name="version" type="hidden" value="1"' in c.get(
            f"/massnahmen/{m.id}/bearbeiten"
        ).get_data(as_text=True)
    # Bert saves first.
    assert (
        other.post(
            f"/massnahmen/{m.id}/bearbeiten", data=measure_form(m, title="Lotsenprojekt Süd")
        ).status_code
        == 302
    )
    # Anna's save on version 1 is stopped: she sees Bert's change and keeps her input.
    response = client.post(
        f"/massnahmen/{m.id}/bearbeiten",
        data=measure_form(m, title="Lotsenprojekt Nord", version="1"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Jemand anderes hat diesen Eintrag gespeichert" in page
    assert "Bert Beispiel" in page and "„Lotsenprojekt“ → „Lotsenprojekt Süd“" in page
    assert 'value="Lotsenprojekt Nord"' in page
    assert load(app, m.id).title == "Lotsenprojekt Süd"
    # The form now carries version 2: saving again deliberately overwrites.
    match = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert match and match[1] == "2"
    assert (
        client.post(
            f"/massnahmen/{m.id}/bearbeiten",
            data=measure_form(m, title="Lotsenprojekt Nord", version="2"),
        ).status_code
        == 302
    )
    assert load(app, m.id).title == "Lotsenprojekt Nord"
    assert anna.id != bert.id


def test_bad_input_gets_messages_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    goal = make.goal()
    m = make.measure(goal)
    make.measure(goal)  # holds number x.x.2
    make.commit()
    auth.login_as(Role.COORDINATOR)
    taken = f"{goal.number}.2"
    cases = {
        "Bitte geben Sie einen Titel an.": {"title": "  "},
        "Das Enddatum liegt vor dem Beginn.": {
            "start_date": "2024-05-01",
            "end_date": "2024-04-30",
        },
        f"Die Nummer {taken} ist hier schon vergeben.": {"number": taken},
        "Die Nummer muss mit": {"number": "9.9.9"},
        "Der Titel ist zu lang": {"title": "x" * 301},
        "Not a valid choice": {"lead_organisation_id": "999999"},
        "Bitte geben Sie einen Betrag": {"budget_eur": "-5"},
        "Jemand anderes hat diesen Eintrag gespeichert": {"version": "abc"},
    }
    before = audit_count(app)
    for message, change in cases.items():
        response = client.post(f"/massnahmen/{m.id}/bearbeiten", data=measure_form(m, **change))
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        if message == "Not a valid choice":
            assert "Keine gültige Auswahl" in page or "gültige" in page, page
        else:
            assert message in page, message
    assert audit_count(app) == before


def test_archive_hides_measure_but_keeps_history(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    goal = make.goal()
    m = make.measure(goal, title="Alte Maßnahme")
    make.commit()
    plan_id = goal.field.plan_id
    auth.login_as(Role.COORDINATOR)
    before = utcnow()
    assert client.post(f"/archivieren/massnahme/{m.id}").status_code == 302
    assert "Alte Maßnahme" not in client.get(f"/plaene/{plan_id}").get_data(as_text=True)
    assert "wurde am" in client.get(f"/massnahmen/{m.id}").get_data(as_text=True)
    # Its number is free again for a new measure.
    new = client.post(
        f"/ziele/{goal.id}/massnahmen/neu", data=measure_form(m, title="Neue Maßnahme", version="")
    )
    assert new.status_code == 302
    with app.app_context():
        then = plan_as_of(plan_id, before)
        assert then is not None and [x.title for x in then.measures()] == ["Alte Maßnahme"]


def test_move_measure_to_other_goal(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    field = make.field()
    source, target = make.goal(field), make.goal(field)
    make.measure(target)
    m = make.measure(source)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/massnahmen/{m.id}/umhaengen").get_data(as_text=True)
    assert f"{target.number}.2" in page
    response = client.post(f"/massnahmen/{m.id}/umhaengen", data={"goal_id": str(target.id)})
    assert response.status_code == 302
    moved = load(app, m.id)
    assert (moved.goal_id, moved.number) == (target.id, f"{target.number}.2")
    bogus = client.post(f"/massnahmen/{m.id}/umhaengen", data={"goal_id": "424242"})
    assert bogus.status_code == 200 and load(app, m.id).goal_id == target.id


def test_create_plan_field_goal(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.COORDINATOR)
    response = client.post(
        "/plaene/neu",
        data={
            "title": "HKI 2026–2030",
            "city": "Stadt Beispiel",
            "valid_from": "2026-01-01",
            "valid_to": "2030-12-31",
            "state": "draft",
        },
    )
    assert response.status_code == 302
    plan_id = int(response.location.rsplit("/", 1)[1])
    assert (
        client.post(
            f"/plaene/{plan_id}/handlungsfelder/neu", data={"number": "1", "title": "Sprache"}
        ).status_code
        == 302
    )
    page = client.get(f"/plaene/{plan_id}").get_data(as_text=True)
    assert "HKI 2026–2030" in page and "1 Sprache" in re.sub(r"<[^>]+>", "", page)
    wrong = client.post(
        "/plaene/neu",
        data={
            "title": "X",
            "city": "Y",
            "valid_from": "2030-01-01",
            "valid_to": "2026-12-31",
            "state": "draft",
        },
    )
    assert "Das Ende der Laufzeit liegt vor ihrem Beginn." in wrong.get_data(as_text=True)


def test_reorder_measures(app: Flask, client: FlaskClient, auth: Auth, make: Factories) -> None:
    goal = make.goal()
    first, second = make.measure(goal, title="Erste"), make.measure(goal, title="Zweite")
    make.commit()
    auth.login_as(Role.COORDINATOR)
    client.post(f"/verschieben/massnahme/{second.id}/hoch")
    page = client.get(f"/plaene/{goal.field.plan_id}").get_data(as_text=True)
    assert page.index("Zweite") < page.index("Erste")
    assert first.id != second.id


def test_closed_plan_cannot_be_edited(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    from hki.vocab import PlanState

    m = make.measure(goal=make.goal(make.field(make.plan(state=PlanState.CLOSED))))
    make.commit()
    auth.login_as(Role.COORDINATOR)
    assert client.get(f"/massnahmen/{m.id}/bearbeiten").status_code == 403
    assert date.today().year > 2000
