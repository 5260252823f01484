"""Who sees which update: council readers only what counts, an office its own drafts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hki.dashboard import search
from hki.extensions import db
from hki.plan.models import Measure
from hki.security import sees_update
from hki.updates.models import UpdateReview
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth
from tests.factories import Factories

COMMENT = "Bitte die Teilnehmendenzahl nachtragen."


def _drafts(make: Factories) -> Measure:
    """A measure with a counted update, one waiting, and one returned with a comment."""
    lead = make.organisation("Jugendamt")
    measure = make.measure(lead=lead, number="1.1.1")
    coordinator = make.user(role=Role.COORDINATOR)
    make.update(measure, Status.PLANNED, as_of=date(2024, 3, 31), progress=10,
                note="Konzept steht.")
    make.update(measure, Status.IN_PROGRESS, as_of=date(2024, 6, 30), progress=30,
                note="Wartet auf Freigabe Kinderbetreuung", accepted=False)
    returned = make.update(measure, Status.IN_PROGRESS, as_of=date(2024, 5, 31), progress=20,
                           note="Zurückgegebener Entwurf Schulsozialarbeit", accepted=False)
    returned.review = UpdateReview(decision=Decision.RETURNED, reviewer=coordinator,
                                   comment=COMMENT, decided_at=datetime(2024, 6, 2, tzinfo=UTC))
    make.commit()
    return measure


@pytest.mark.parametrize(("role", "own_office", "sees_drafts"), [
    (Role.READER, False, False), (Role.OFFICE, False, False), (Role.OFFICE, True, True),
    (Role.COORDINATOR, False, True), (Role.ADMIN, False, True),
])
def test_measure_page_shows_drafts_and_comments_only_to_whom_they_concern(
    client: FlaskClient, auth: Auth, make: Factories, role: Role, own_office: bool,
    sees_drafts: bool,
) -> None:
    measure = _drafts(make)
    auth.login_as(role, measure.lead if own_office else make.organisation("VHS"))
    html = client.get(f"/massnahmen/{measure.id}").get_data(as_text=True)
    assert "Konzept steht." in html
    for internal in ("Wartet auf Freigabe Kinderbetreuung",
                     "Zurückgegebener Entwurf Schulsozialarbeit", COMMENT):
        assert (internal in html) is sees_drafts, internal


def test_the_rule_in_one_place(make: Factories) -> None:
    measure = _drafts(make)
    reader = make.user(role=Role.READER)
    inactive = make.user(role=Role.COORDINATOR, is_active=False)
    counted, *drafts = sorted(measure.updates, key=lambda u: u.as_of)
    assert sees_update(reader, counted) and not sees_update(inactive, counted)
    assert not any(sees_update(reader, u) for u in drafts)


def test_search_finds_no_word_that_only_a_draft_contains(
    app: Flask, make: Factories,
) -> None:
    measure = _drafts(make)
    plan_id = measure.goal.field.plan_id
    assert search.matching_ids(plan_id, "Konzept") == {measure.id}
    assert search.matching_ids(plan_id, "Kinderbetreuung") == set()
    assert search.matching_ids(plan_id, "Schulsozialarbeit") == set()
    waiting = next(u for u in measure.updates if u.review is None)
    waiting.review = UpdateReview(decision=Decision.ACCEPTED, reviewer=make.user(
        role=Role.COORDINATOR))
    db.session.flush()
    assert search.matching_ids(plan_id, "Kinderbetreuung") == {measure.id}
