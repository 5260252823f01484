"""Update rounds: opening, answering one measure after another, completion, bulk entry."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import IndicatorValue, Measure, Organisation, Plan
from hki.updates import rounds
from hki.updates.models import StatusUpdate, UpdateReview, UpdateRound
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories

IN_PERIOD = date(2024, 6, 15)


def two_office_plan(make: Factories) -> tuple[Plan, Organisation, Organisation, list[Measure]]:
    """Field 1 with measures of the VHS (1.1.1–1.1.3), field 2 of the Jobcenter (2.1.1–2.1.2)."""
    vhs, jobcenter = make.organisation("VHS"), make.organisation("Jobcenter")
    plan = make.plan()
    g1 = make.goal(make.field(plan, title="Sprache"))
    g2 = make.goal(make.field(plan, title="Arbeit"))
    measures = [make.measure(g1, lead=vhs) for _ in range(3)]
    measures += [make.measure(g2, lead=jobcenter) for _ in range(2)]
    return plan, vhs, jobcenter, measures


def answered_in_sql(round_id: int) -> int:
    """Measures with an answer in the round's period that was not returned, straight SQL."""
    return int(db.session.execute(text(
        "SELECT count(DISTINCT u.measure_id) FROM status_updates u "
        "JOIN update_rounds r ON r.id = :rid "
        "LEFT JOIN update_reviews v ON v.update_id = u.id "
        "WHERE u.as_of BETWEEN r.period_start AND r.stichtag "
        "AND (v.id IS NULL OR v.decision = 'accepted')"), {"rid": round_id}).scalar_one())


def test_completion_matches_the_database_after_a_mix_of_answers(
    app_ctx: Flask, make: Factories
) -> None:
    plan, vhs, _, m = two_office_plan(make)
    office = make.user(role=Role.OFFICE, organisation=vhs)
    coordinator = make.user(role=Role.COORDINATOR)
    rnd = make.round(plan)
    make.update(m[0], as_of=IN_PERIOD)  # accepted
    make.update(m[1], as_of=IN_PERIOD, accepted=False, author=office)  # waiting
    returned = make.update(m[2], as_of=IN_PERIOD, accepted=False, author=office)
    returned.review = UpdateReview(decision=Decision.RETURNED, reviewer=coordinator,
                                   comment="Bitte ergänzen")
    make.update(m[3], as_of=date(2023, 12, 31))  # before the period: still open
    wrong = make.update(m[4], as_of=IN_PERIOD, progress=90)
    make.update(m[4], as_of=IN_PERIOD, progress=30, corrects=wrong)  # correction
    make.commit()

    rows = rounds.round_measures(rnd)
    answers = {r.measure.number: r.answer for r in rows}
    assert answers == {"1.1.1": rounds.Answer.ACCEPTED, "1.1.2": rounds.Answer.SUBMITTED,
                       "1.1.3": rounds.Answer.OPEN, "2.1.1": rounds.Answer.OPEN,
                       "2.1.2": rounds.Answer.ACCEPTED}
    by_office = {c.label: (c.answered, c.submitted, c.total)
                 for c in rounds.completion(rows, rounds.by_office)}
    assert by_office == {"VHS": (2, 1, 3), "Jobcenter": (1, 0, 2)}
    by_field = {c.label: (c.answered, c.total) for c in rounds.completion(rows, rounds.by_field)}
    assert by_field == {"1 Sprache": (2, 3), "2 Arbeit": (1, 2)}
    assert sum(c.answered for c in rounds.completion(rows, rounds.by_office)) == answered_in_sql(
        rnd.id) == 3
    # The corrected row is kept: two rows for 2.1.2, the correction is the answer.
    (row,) = [r for r in rows if r.measure.number == "2.1.2"]
    assert row.update is not None and row.update.progress == 30
    assert db.session.scalar(select(func.count()).where(StatusUpdate.measure_id == m[4].id)) == 2
    assert {o.name: [r.measure.number for r in rs]
            for o, rs in rounds.open_by_office(rows).items()} == {
        "VHS": ["1.1.3"], "Jobcenter": ["2.1.1"]}


def test_office_answers_one_measure_after_another(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan, vhs, _, m = two_office_plan(make)
    rnd = make.round(plan, stichtag=local_today(), period_start=local_today() - timedelta(days=30),
                     due_date=local_today() + timedelta(days=14))
    make.update(m[1], as_of=local_today())  # already answered
    make.commit()
    ids, round_id = [x.id for x in m], rnd.id
    auth.login_as(Role.OFFICE, organisation=vhs)

    work = client.get("/meine-massnahmen").get_data(as_text=True)
    assert "2 Maßnahmen ohne Sachstand" in work
    assert "1.1.1" in work and "1.1.3" in work and "1.1.2" not in work and "2.1.1" not in work

    data = {"as_of": local_today().isoformat(), "status": "in_progress", "progress": "50",
            "note": ""}
    first = client.post(f"/massnahmen/{ids[0]}/sachstand?runde={round_id}", data=data)
    assert first.location == f"/massnahmen/{ids[2]}/sachstand?runde={round_id}"
    last = client.post(first.location, data=data, follow_redirects=True)
    page = last.get_data(as_text=True)
    assert last.request.path == "/meine-massnahmen"
    assert "Sie haben alle Maßnahmen der Abfrage" in page
    assert "keine offene Sachstandsabfrage" in page
    with app.app_context():
        assert [(r.measure.id, r.answer) for r in rounds.round_measures(
            db.session.get_one(UpdateRound, round_id), vhs.id)] == [
            (ids[0], rounds.Answer.SUBMITTED), (ids[1], rounds.Answer.ACCEPTED),
            (ids[2], rounds.Answer.SUBMITTED)]


def test_open_round_form_checks_dates_and_proposes_the_period(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan = make.plan()
    make.round(plan, stichtag=date(2024, 6, 30))
    make.commit()
    plan_id = plan.id
    auth.login_as(Role.COORDINATOR)
    form = client.get(f"/plaene/{plan_id}/abfragen/neu").get_data(as_text=True)
    assert 'value="2024-07-01"' in form
    bad = client.post(f"/plaene/{plan_id}/abfragen/neu", data={
        "title": "Sachstand 2. Halbjahr", "period_start": "2024-07-01",
        "stichtag": "2024-06-01", "due_date": "2020-01-01"}).get_data(as_text=True)
    assert "Der Stichtag liegt vor dem Beginn des Zeitraums" in bad
    assert "Die Frist liegt in der Vergangenheit" in bad
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UpdateRound)) == 1
    due = (local_today() + timedelta(days=21)).isoformat()
    ok = client.post(f"/plaene/{plan_id}/abfragen/neu", data={
        "title": "Sachstand 2. Halbjahr", "period_start": "2024-07-01",
        "stichtag": "2024-12-31", "due_date": due})
    assert ok.status_code == 302
    page = client.get(ok.location).get_data(as_text=True)
    assert "Sachstand 2. Halbjahr" in page and "01.07.2024 – 31.12.2024" in page


def test_bulk_entry_is_all_or_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan, _, _, m = two_office_plan(make)
    rnd = make.round(plan)
    make.commit()
    ids, round_id = [x.id for x in m], rnd.id
    auth.login_as(Role.COORDINATOR)
    data = {"as_of": "2024-06-30",
            f"status-{ids[0]}": "in_progress", f"progress-{ids[0]}": "40",
            f"status-{ids[1]}": "delayed", f"progress-{ids[1]}": "20",  # reason missing
            f"status-{ids[2]}": "completed", f"progress-{ids[2]}": "",
            f"status-{ids[3]}": "in_progress", f"progress-{ids[3]}": "abc",
            f"status-{ids[4]}": "in_progress", f"progress-{ids[4]}": "²"}
    page = client.post(f"/abfragen/{round_id}/sammeleingabe", data=data).get_data(as_text=True)
    assert "Es wurde noch nichts gespeichert" in page
    assert "Bei „verzögert“ ist eine Begründung nötig" in page
    assert "Der Fortschritt ist eine ganze Zahl von 0 bis 100." in page
    assert f'name="progress-{ids[3]}" value="abc"' in page  # input kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 0

    data[f"note-{ids[1]}"] = "Kursleitung fehlt"
    data[f"progress-{ids[3]}"] = "15"
    del data[f"status-{ids[4]}"], data[f"progress-{ids[4]}"]
    ok = client.post(f"/abfragen/{round_id}/sammeleingabe", data=data, follow_redirects=True)
    assert "4 Sachstände gespeichert." in ok.get_data(as_text=True)
    with app.app_context():
        rows = rounds.round_measures(db.session.get_one(UpdateRound, round_id))
        assert [r.answer for r in rows] == [rounds.Answer.ACCEPTED] * 4 + [rounds.Answer.OPEN]
        assert [(r.update.status, r.update.progress) for r in rows if r.update] == [
            (Status.IN_PROGRESS, 40), (Status.DELAYED, 20), (Status.COMPLETED, 100),
            (Status.IN_PROGRESS, 15)]


def test_closed_round_disappears_for_offices(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan, vhs, _, _ = two_office_plan(make)
    rnd = make.round(plan)
    make.commit()
    round_id = rnd.id
    auth.login_as(Role.COORDINATOR)
    client.post(f"/abfragen/{round_id}/abschliessen")
    again = client.post(f"/abfragen/{round_id}/sammeleingabe", data={}, follow_redirects=True)
    assert "Diese Abfrage ist bereits abgeschlossen." in again.get_data(as_text=True)
    auth.login_as(Role.OFFICE, organisation=vhs)
    assert "keine offene Sachstandsabfrage" in client.get("/meine-massnahmen").get_data(
        as_text=True)


def test_measures_finished_before_the_period_are_not_asked_again(
    app_ctx: Flask, make: Factories
) -> None:
    plan, _, _, m = two_office_plan(make)
    rnd = make.round(plan)
    make.update(m[0], Status.COMPLETED, as_of=date(2023, 3, 31), progress=100)
    make.update(m[1], Status.DISCONTINUED, as_of=date(2023, 3, 31), note="Keine Förderung")
    make.update(m[2], Status.ONGOING, as_of=date(2023, 3, 31), progress=None)
    # Finished within the period: that is this round's answer, so it stays listed.
    make.update(m[3], Status.COMPLETED, as_of=IN_PERIOD, progress=100)
    make.commit()
    rows = rounds.round_measures(rnd)
    assert [(r.measure.number, r.answer) for r in rows] == [
        ("1.1.3", rounds.Answer.OPEN), ("2.1.1", rounds.Answer.ACCEPTED),
        ("2.1.2", rounds.Answer.OPEN)]


def test_round_pages_run_a_fixed_number_of_queries(
    make: Factories, client: FlaskClient, auth: Auth, count_queries: QueryCounter
) -> None:
    office = make.organisation("VHS")

    def plan_with(fields: int, goals: int, measures: int) -> int:
        plan = make.plan()
        for _ in range(fields):
            field = make.field(plan)
            for _ in range(goals):
                goal = make.goal(field)
                for i in range(measures):
                    m = make.measure(goal, lead=office)
                    if i % 2:
                        make.update(m, as_of=IN_PERIOD, accepted=i % 3 == 0)
        return make.round(plan).id

    small, big = plan_with(1, 1, 2), plan_with(3, 3, 4)
    make.commit()

    def queries(url: str) -> int:
        before = count_queries.count
        assert client.get(url).status_code == 200
        return count_queries.count - before

    auth.login_as(Role.COORDINATOR)
    for page in ("/abfragen/{}", "/abfragen/{}/sammeleingabe"):
        assert queries(page.format(small)) == queries(page.format(big)), page
    auth.login_as(Role.OFFICE, organisation=office)
    assert queries("/meine-massnahmen") <= 12


def test_bulk_entry_takes_indicator_values_with_the_answer(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan, _, _, m = two_office_plan(make)
    indicator = make.indicator(m[0], name="Teilnehmende", unit="Personen")
    other = make.indicator(m[1], name="Kurse")
    rnd = make.round(plan)
    make.commit()
    ids, round_id, indicator_id, other_id = [x.id for x in m], rnd.id, indicator.id, other.id
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/abfragen/{round_id}/sammeleingabe").get_data(as_text=True)
    assert f'name="value-{indicator_id}"' in page and "Teilnehmende (Personen)" in page
    data = {"as_of": "2024-06-30", f"status-{ids[0]}": "in_progress",
            f"progress-{ids[0]}": "40", f"value-{indicator_id}": "1.234,5",
            f"value-{other_id}": "zwölf"}  # a value without a status, and not a number
    refused = client.post(f"/abfragen/{round_id}/sammeleingabe", data=data)
    assert "Ein Indikatorwert braucht einen Sachstand" in refused.get_data(as_text=True)
    data.update({f"status-{ids[1]}": "in_progress", f"progress-{ids[1]}": "10"})
    refused = client.post(f"/abfragen/{round_id}/sammeleingabe", data=data)
    assert "„zwölf“ ist keine Zahl" in refused.get_data(as_text=True)
    data[f"value-{other_id}"] = "3"
    ok = client.post(f"/abfragen/{round_id}/sammeleingabe", data=data, follow_redirects=True)
    assert "2 Sachstände gespeichert." in ok.get_data(as_text=True)
    with app.app_context():
        values = db.session.scalars(select(IndicatorValue).order_by(IndicatorValue.id)).all()
        assert [(v.indicator_id, v.value, v.as_of) for v in values] == [
            (indicator_id, 1234.5, date(2024, 6, 30)), (other_id, 3.0, date(2024, 6, 30))]
        assert all(v.update_id is not None for v in values)


def test_a_plans_first_round_asks_about_the_last_year_not_since_the_plans_start(
    app_ctx: Flask, make: Factories,
) -> None:
    plan = make.plan(valid_from=date(2021, 1, 1), valid_to=date(2026, 12, 31))
    make.commit()
    today = date(2026, 11, 30)
    # Otherwise every Sachstand since 2021 would count as an answer to the new round.
    assert rounds.default_period_start(db.session, plan, today) == date(2025, 11, 30)
    make.report(plan, stichtag=date(2026, 6, 30))
    assert rounds.default_period_start(db.session, plan, today) == date(2026, 7, 1)
