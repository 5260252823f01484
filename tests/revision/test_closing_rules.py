"""What a closed plan refuses, and the edges of the Fortschreibung found in review."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import Plan
from hki.reports import jobs
from hki.revision import services
from hki.revision.final import gather_final
from hki.revision.models import MeasureOutcome
from hki.updates.models import UpdateRound
from hki.updates.services import ReviewError, review
from hki.vocab import Decision, Outcome, PlanState, Role, Status
from tests.conftest import Auth
from tests.factories import Factories
from tests.revision.test_revision import continue_plan, demo


def test_adoption_closes_rounds_and_freigabe_of_the_old_plan(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    measure = services.active_measures(plan)[0]
    office = make.user(role=Role.OFFICE, organisation=measure.lead)
    pending = make.update(measure, Status.IN_PROGRESS, as_of=date(2025, 12, 30), progress=60,
                          accepted=False, author=office)
    today = local_today()
    rnd = make.round(plan, period_start=today - timedelta(days=5), stichtag=today,
                     due_date=today + timedelta(days=9))
    new, _items = continue_plan(plan, user)
    services.adopt(db.session, new, date(2026, 2, 26), "V-2026/017")
    db.session.commit()
    assert db.session.get(UpdateRound, rnd.id).closed_at is not None  # type: ignore[union-attr]
    with pytest.raises(ReviewError, match="abgeschlossen"):
        review(db.session, pending, user, Decision.ACCEPTED)
    auth.login_as(Role.COORDINATOR)
    for url in (f"/abfragen/{rnd.id}/sammeleingabe", f"/abfragen/{rnd.id}/erinnern"):
        assert client.post(url, data={f"status-{measure.id}": "in_progress"}).status_code in (
            302, 403)
    assert client.get(f"/plaene/{plan.id}/abfragen/neu").status_code == 403
    assert pending.review is None


def test_the_edit_form_adopting_a_successor_closes_its_predecessor(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    new, rows = continue_plan(plan, user)
    early = next(r for r in rows if r.copy is not None)
    assert early.copy is not None
    early.copy.end_date = date(2025, 6, 30)  # an open point: ends before the new plan
    db.session.commit()
    auth.login_as(Role.COORDINATOR)
    data = {"title": new.title, "city": new.city, "valid_from": "2026-01-01",
            "valid_to": "2030-12-31", "state": "adopted", "adopted_on": "2026-03-01",
            "version": str(new.version)}
    refused = client.post(f"/plaene/{new.id}/bearbeiten", data=data)
    assert refused.headers["Location"].endswith(f"/plaene/{plan.id}/fortschreibung#beschluss")
    db.session.expire_all()
    assert db.session.get(Plan, new.id).state is PlanState.DRAFT  # type: ignore[union-attr]
    copy = db.session.get(type(early.copy), early.copy.id)
    assert copy is not None
    copy.end_date = None
    db.session.commit()
    response = client.post(f"/plaene/{new.id}/bearbeiten", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).state is PlanState.CLOSED  # type: ignore[union-attr]


def test_one_successor_per_plan_in_the_database(make: Factories) -> None:
    plan = make.plan()
    make.plan(predecessor=plan)
    with pytest.raises(IntegrityError):
        make.plan(predecessor=plan)


def test_implausible_dates_are_refused_and_periods_computed_safely(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    leap = make.plan(valid_from=date(2023, 3, 1), valid_to=date(2024, 2, 29))
    assert services.default_period(leap) == (date(2024, 3, 1), date(2025, 2, 28))
    # As long as the old plan ran: six years (2020–2025) give six years (2026–2031).
    six = make.plan(valid_from=date(2020, 1, 1), valid_to=date(2025, 12, 31))
    assert services.default_period(six) == (date(2026, 1, 1), date(2031, 12, 31))
    make.commit()
    auth.login_as(Role.COORDINATOR)
    page = client.post(f"/plaene/{leap.id}/bearbeiten", data={
        "title": leap.title, "city": "X", "valid_from": "2023-03-01", "valid_to": "9999-12-31",
        "state": "adopted", "version": str(leap.version)}).get_data(as_text=True)
    assert "„9999-12-31“ ist kein gültiges Datum" in page and "zwischen 1900 und 2200" in page
    assert client.get(f"/plaene/{leap.id}/fortschreibung").status_code == 200


def test_abschlussbericht_follows_the_decisions_also_for_later_changes(
    make: Factories,
) -> None:
    plan, user = demo(make)
    late = make.measure(plan.fields[0].goals[0], title="Nach dem Ende ergänzt")
    first = services.active_measures(plan)[0].id
    done = next(m for m in services.active_measures(plan)
                if m.id not in (late.id, first)
                and m.updates and m.updates[-1].status is Status.COMPLETED)
    done.archived_at = datetime.now(UTC)
    db.session.flush()
    continue_plan(plan, user)
    db.session.commit()
    data = gather_final(plan.id, datetime.now(UTC))
    assert not data.provisional  # the plan ended on 31.12.2025
    assert gather_final(plan.id, datetime(2025, 12, 1, tzinfo=UTC)).provisional
    outcomes = Counter(db.session.scalars(select(MeasureOutcome.outcome)))
    assert (len(data.carried), len(data.ended), len(data.dropped), data.undecided) == (
        outcomes[Outcome.CARRIED_OVER], outcomes[Outcome.CLOSED], outcomes[Outcome.DROPPED],
        [])
    fates = {f.entry.measure.id for f in data.carried + data.ended + data.dropped}
    assert fates == set(db.session.scalars(select(MeasureOutcome.measure_id)))
    assert late.id in fates  # added after the plan's end, decided, and reported
    assert done.id not in {f.entry.measure.id for f in data.ended}
    report = jobs.request_final(db.session, plan, user)
    db.session.commit()
    assert jobs.same_stichtag(db.session, plan.id, plan.valid_to) == []
    assert jobs.previous_stichtag(db.session, plan.id, date(2026, 6, 30)) is None
    assert report.kind.label == "Abschlussbericht"


def test_a_closed_plan_offers_no_links_that_end_in_kein_zugriff(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    closed = make.plan(state=PlanState.CLOSED)
    make.measure(make.goal(make.field(closed)))
    make.commit()
    auth.login_as(Role.COORDINATOR)
    rounds_page = client.get(f"/plaene/{closed.id}/abfragen").get_data(as_text=True)
    assert f"/plaene/{closed.id}/abfragen/neu" not in rounds_page
    assert "es werden keine Abfragen mehr eröffnet" in rounds_page
    overview = client.get(f"/plaene/{closed.id}").get_data(as_text=True)
    assert "abgeschlossen" in overview and "abschließen" not in overview
    assert f"/plaene/{closed.id}/bearbeiten" not in overview
    assert client.get(f"/plaene/{closed.id}/abfragen/neu").status_code == 403
