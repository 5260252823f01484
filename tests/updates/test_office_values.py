"""Offices give indicator values with their update; the values count when the update counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.auth.audit import effective_from
from hki.extensions import db
from hki.plan.models import IndicatorValue, Organisation
from hki.reports.data import gather
from hki.updates.models import StatusUpdate
from hki.vocab import Role, Status
from tests.conftest import Auth
from tests.factories import Factories
from tests.updates.test_review import post


def report_values(plan_id: int, stichtag: date, known_at: datetime) -> dict[int, IndicatorValue]:
    """The indicator values a report for (S, K) shows, by indicator id."""
    return {k: v for e in gather(plan_id, stichtag, known_at).entries for k, v in e.values.items()}


def _setup(make: Factories, auth: Auth) -> tuple[int, int, int]:
    with effective_from(datetime(2024, 1, 1, tzinfo=UTC)):  # the plan as kept since 2024
        vhs = make.organisation("VHS Wilhelmshaven")
        measure = make.measure(lead=vhs, number="1.2.1", end_date=None)
        indicator = make.indicator(measure, name="Teilnehmende Elternkurse", unit="Personen",
                                   baseline_value=40, target_value=120)
        make.commit()
    make.update(measure, Status.IN_PROGRESS, as_of=date(2024, 6, 30), progress=30)
    make.commit()
    auth.login_as(Role.OFFICE, organisation=vhs)
    return measure.id, indicator.id, measure.goal.field.plan_id


def _values(app: Flask) -> list[IndicatorValue]:
    with app.app_context():
        return list(db.session.scalars(select(IndicatorValue)))


def test_office_value_counts_after_acceptance_and_not_before(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    measure_id, indicator_id, plan_id = _setup(make, auth)
    form = client.get(f"/massnahmen/{measure_id}/sachstand").get_data(as_text=True)
    assert "Teilnehmende Elternkurse" in form and 'name="values-0-value"' in form
    post(client, measure_id, status="in_progress", progress="50", as_of="2024-12-31",
         **{"values-0-value": "87", "values-0-source": "Kursstatistik VHS"})
    (value,) = _values(app)
    assert value.value == 87 and value.update_id is not None

    def shown() -> tuple[bool, bool]:
        page = client.get(f"/massnahmen/{measure_id}").get_data(as_text=True)
        with app.app_context():
            values = report_values(plan_id, date(2024, 12, 31), datetime.now(UTC))
        return "87" in page.split("Messwerte", 1)[-1], indicator_id in values

    auth.login_as(Role.READER)
    assert shown() == (False, False)  # waits, like the update, for the coordination
    auth.login_as(Role.COORDINATOR)
    freigabe = client.get("/freigabe").get_data(as_text=True)
    assert "Indikatorwerte: Teilnehmende Elternkurse 87 Personen (31.12.2024)" in freigabe
    before_acceptance = datetime.now(UTC)
    client.post(f"/sachstaende/{value.update_id}/entscheiden",
                data={"entscheidung": "freigeben"})
    auth.login_as(Role.READER)
    assert shown() == (True, True)
    with app.app_context():  # a report known before the acceptance still does not show it
        assert indicator_id not in report_values(plan_id, date(2024, 12, 31), before_acceptance)


def test_returned_value_comes_back_in_the_form_and_never_counts(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    measure_id, indicator_id, plan_id = _setup(make, auth)
    post(client, measure_id, status="in_progress", progress="50", as_of="2024-12-31",
         **{"values-0-value": "870"})
    update_id = _values(app)[0].update_id
    auth.login_as(Role.COORDINATOR)
    client.post(f"/sachstaende/{update_id}/entscheiden",
                data={"entscheidung": "zurueckgeben", "comment": "870 Teilnehmende? Bitte prüfen."})
    with app.app_context():
        assert indicator_id not in report_values(plan_id, date(2024, 12, 31), datetime.now(UTC))
        vhs = db.session.scalars(select(Organisation)).one()
    auth.login_as(Role.OFFICE, organisation=vhs)
    form = client.get(f"/massnahmen/{measure_id}/sachstand").get_data(as_text=True)
    assert "870 Teilnehmende? Bitte prüfen." in form
    assert 'name="values-0-value" type="text" value="870"' in form


def test_a_correction_replaces_the_values_of_the_update_it_corrects(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    measure_id, indicator_id, plan_id = _setup(make, auth)
    auth.login_as(Role.COORDINATOR)
    post(client, measure_id, status="in_progress", progress="50", as_of="2024-12-31",
         **{"values-0-value": "870"})
    with app.app_context():
        wrong = db.session.scalars(select(StatusUpdate).where(
            StatusUpdate.progress == 50)).one()
        assert report_values(plan_id, date(2024, 12, 31), datetime.now(UTC))[
            indicator_id].value == 870
    post(client, measure_id, f"?korrigiert={wrong.id}", status="in_progress", progress="50",
         as_of="2024-12-31", **{"values-0-value": "87"})
    with app.app_context():
        assert report_values(plan_id, date(2024, 12, 31), datetime.now(UTC))[
            indicator_id].value == 87
