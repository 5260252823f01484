"""Freigabe and corrections: only accepted updates count, as known at any moment."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.db import utcnow
from hki.extensions import db
from hki.plan.models import Indicator, IndicatorValue, Measure, Organisation
from hki.updates import services
from hki.updates.models import StatusUpdate, UpdateReview
from hki.updates.queries import current_update, current_updates
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories


def post(client: FlaskClient, measure_id: int, query: str = "", **data: str) -> str:
    data.setdefault("as_of", "2024-06-30")
    data.setdefault("note", "")
    response = client.post(f"/massnahmen/{measure_id}/sachstand{query}", data=data,
                           follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def office_setup(make: Factories, auth: Auth) -> tuple[Measure, int]:
    vhs = make.organisation("VHS")
    m = make.measure(lead=vhs, number="1.1.1")
    make.update(m, Status.PLANNED, as_of=date(2023, 12, 31), progress=10)
    make.commit()
    office = auth.login_as(Role.OFFICE, organisation=vhs)
    return m, office.id


def test_submitted_update_counts_only_after_acceptance(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m, _ = office_setup(make, auth)
    plan_id, measure_id = m.goal.field.plan_id, m.id
    page = post(client, measure_id, status="in_progress", progress="35")
    assert "wurde eingereicht. Er zählt, sobald die Koordination ihn freigegeben hat" in page
    assert "Aktueller Umsetzungsstand:" in page
    with app.app_context():
        current = current_updates(plan_id)[measure_id]
        assert (current.status, current.progress) == (Status.PLANNED, 10)
        submitted = db.session.scalars(
            select(StatusUpdate).where(StatusUpdate.status == Status.IN_PROGRESS)).one()
        assert submitted.review is None
        submitted_id = submitted.id
    before_acceptance = utcnow()

    coordinator = auth.login_as(Role.COORDINATOR)
    queue = client.get("/freigabe").get_data(as_text=True)
    assert f'id="sachstand-{submitted_id}"' in queue and "Bisher gültig" in queue
    client.post(f"/sachstaende/{submitted_id}/entscheiden", data={"entscheidung": "freigeben"})

    with app.app_context():
        current = current_updates(plan_id)[measure_id]
        assert (current.id, current.progress) == (submitted_id, 35)
        review = db.session.scalars(select(UpdateReview)
                                    .where(UpdateReview.update_id == submitted_id)).one()
        assert review.reviewer_id == coordinator.id and review.decision is Decision.ACCEPTED
        # A report known at a moment before the acceptance does not show it.
        then = current_updates(plan_id, known_at=before_acceptance)[measure_id]
        assert then.status is Status.PLANNED
    assert "Es warten keine Sachstände auf Freigabe." in client.get("/freigabe").get_data(
        as_text=True)


def test_returned_update_goes_back_with_comment(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m, _ = office_setup(make, auth)
    rnd = make.round(m.goal.field.plan)
    make.commit()
    measure_id, round_id = m.id, rnd.id
    post(client, measure_id, status="completed", progress="100",
         note="Alle 12 Kurse abgeschlossen.", as_of="2024-06-28")
    with app.app_context():
        update_id = db.session.scalars(select(StatusUpdate.id).where(
            StatusUpdate.status == Status.COMPLETED)).one()

    auth.login_as(Role.COORDINATOR)
    refused = client.post(f"/sachstaende/{update_id}/entscheiden",
                          data={"entscheidung": "zurueckgeben", "comment": "  "},
                          follow_redirects=True).get_data(as_text=True)
    assert "Bitte schreiben Sie der Fachstelle, was sie ändern soll." in refused
    client.post(f"/sachstaende/{update_id}/entscheiden",
                data={"entscheidung": "zurueckgeben",
                      "comment": "Bitte Teilnehmendenzahl ergänzen."})
    again = client.post(f"/sachstaende/{update_id}/entscheiden",
                        data={"entscheidung": "freigeben"}, follow_redirects=True)
    assert "Über diesen Sachstand wurde bereits entschieden." in again.get_data(as_text=True)

    with app.app_context():
        current = current_update(measure_id)
        assert current is not None and current.status is Status.PLANNED
        (review,) = db.session.scalars(select(UpdateReview).where(
            UpdateReview.update_id == update_id))
        assert review.decision is Decision.RETURNED

    vhs = make.session.get_one(Organisation, m.lead_organisation_id)
    auth.login_as(Role.OFFICE, organisation=vhs)
    work = client.get("/meine-massnahmen").get_data(as_text=True)
    assert "Bitte Teilnehmendenzahl ergänzen." in work and "1.1.1" in work
    form = client.get(f"/massnahmen/{measure_id}/sachstand?runde={round_id}").get_data(
        as_text=True)
    assert "zurückgegeben. Hinweis der Koordination:" in form
    assert "Bitte Teilnehmendenzahl ergänzen." in form
    # The form holds what the office sent (not "nicht begonnen", 0 %, an empty note) …
    assert '<option selected value="completed">' in form
    assert 'value="100"' in form and "Alle 12 Kurse abgeschlossen.</textarea>" in form
    assert 'value="2024-06-28"' in form
    # … and the resubmission supersedes the returned draft.
    post(client, measure_id, f"?runde={round_id}", status="completed", progress="100",
         note="Alle 12 Kurse abgeschlossen, 143 Teilnehmende.", as_of="2024-06-28")
    again_form = client.get(f"/massnahmen/{measure_id}/sachstand").get_data(as_text=True)
    assert "Hinweis der Koordination" not in again_form


def test_correction_replaces_the_update_and_keeps_both(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure(number="2.1.1")
    wrong = make.update(m, Status.IN_PROGRESS, as_of=date(2024, 6, 30), progress=80)
    make.commit()
    measure_id, wrong_id = m.id, wrong.id
    auth.login_as(Role.COORDINATOR)
    form = client.get(f"/massnahmen/{measure_id}/sachstand?korrigiert={wrong_id}").get_data(
        as_text=True)
    assert "Sie korrigieren den Sachstand vom 30.06.2024" in form
    # The correction describes an earlier day: it still replaces the wrong update.
    page = post(client, measure_id, f"?korrigiert={wrong_id}", as_of="2024-05-31",
                status="in_progress", progress="30", note="Tippfehler: 30 statt 80 %")
    assert "Korrektur" in page and "zählt nicht mehr" in page
    with app.app_context():
        rows = db.session.scalars(select(StatusUpdate).order_by(StatusUpdate.id)).all()
        assert [(u.progress, u.corrects_id) for u in rows] == [(80, None), (30, wrong_id)]
        current = current_update(measure_id)
        assert current is not None and current.progress == 30


def test_correction_of_another_measures_update_is_refused(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    a, b = make.measure(), make.measure()
    foreign = make.update(b)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    response = client.post(f"/massnahmen/{a.id}/sachstand?korrigiert={foreign.id}",
                           data={"as_of": "2024-06-30", "status": "planned", "progress": "5"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 1


def test_office_cannot_post_or_correct_for_a_measure_it_does_not_lead(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    other = make.measure()
    earlier = make.update(other)
    make.commit()
    auth.login_as(Role.OFFICE, organisation=make.organisation("VHS"))
    for query in ("", f"?korrigiert={earlier.id}"):
        response = client.post(f"/massnahmen/{other.id}/sachstand{query}",
                               data={"as_of": "2024-06-30", "status": "planned"})
        assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 1


def test_indicator_value_is_recorded_with_the_update(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m = make.measure()
    indicator = make.indicator(m, name="Teilnehmende Sprachcafé", baseline_value=10,
                               target_value=60)
    make.commit()
    measure_id, indicator_id = m.id, indicator.id
    auth.login_as(Role.COORDINATOR)
    form = client.get(f"/massnahmen/{measure_id}/sachstand").get_data(as_text=True)
    assert "Teilnehmende Sprachcafé" in form and 'name="values-0-value"' in form
    post(client, measure_id, status="in_progress", progress="40",
         **{"values-0-value": "1.234,5", "values-0-source": "Integrationsmonitoring Niedersachsen"})
    with app.app_context():
        (value,) = db.session.scalars(select(IndicatorValue)).all()
        assert (value.indicator_id, value.value, value.as_of, value.source) == (
            indicator_id, 1234.5, date(2024, 6, 30), "Integrationsmonitoring Niedersachsen")


def test_service_refuses_an_indicator_of_another_measure(app_ctx: Flask, make: Factories) -> None:
    a, b = make.measure(), make.measure()
    foreign: Indicator = make.indicator(b)
    author = make.user(role=Role.COORDINATOR)
    make.commit()
    try:
        services.post_update(db.session, a, author, as_of=date(2024, 6, 30),
                             status=Status.PLANNED, progress=5, note="",
                             measurements=[services.Measurement(foreign, 1.0, date(2024, 6, 30))])
    except services.InvalidUpdateError as error:
        assert "gehört nicht zu dieser Maßnahme" in error.errors["measurements"]
    else:
        raise AssertionError("expected InvalidUpdateError")


def test_pending_correction_does_not_count_and_is_shown_as_waiting(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m, _ = office_setup(make, auth)  # logged in as the VHS office
    measure_id = m.id
    with app.app_context():
        original = current_update(measure_id)
        assert original is not None
        original_id = original.id
    page = post(client, measure_id, f"?korrigiert={original_id}", as_of="2023-12-31",
                status="planned", progress="15")
    assert "eingereicht – wartet auf Freigabe" in page and "zählt nicht mehr" not in page
    with app.app_context():
        still = current_update(measure_id)
        assert still is not None and still.id == original_id


def test_no_updates_for_archived_measures_and_no_second_correction(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    archived = make.measure(archived_at=utcnow())
    m = make.measure()
    first = make.update(m, progress=10)
    make.update(m, progress=20, corrects=first)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    assert client.get(f"/massnahmen/{archived.id}/sachstand").status_code == 404
    assert client.get(f"/massnahmen/{m.id}/sachstand?korrigiert={first.id}").status_code == 404


def test_round_answer_must_describe_a_day_of_the_period(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    m, _ = office_setup(make, auth)
    rnd = make.round(m.goal.field.plan)  # 01.01.2024 – 30.06.2024
    make.commit()
    page = post(client, m.id, f"?runde={rnd.id}", as_of="2023-11-30", status="planned",
                progress="5")
    assert "muss der Sachstand einen Tag vom 01.01.2024 bis 30.06.2024 beschreiben" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 1


def test_review_page_runs_a_fixed_number_of_queries(
    client: FlaskClient, auth: Auth, make: Factories, count_queries: QueryCounter
) -> None:
    office = make.user(role=Role.OFFICE)
    make.update(make.measure(), accepted=False, author=office)
    make.commit()
    auth.login_as(Role.COORDINATOR)

    def queries() -> int:
        before = count_queries.count
        assert client.get("/freigabe").status_code == 200
        return count_queries.count - before

    one = queries()
    for _ in range(6):
        make.update(make.measure(), accepted=False, author=office)
    make.commit()
    assert queries() == one
