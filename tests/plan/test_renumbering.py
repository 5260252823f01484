"""Renumbering: an explicit, previewed action that follows the order on the page."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.auth.models import AuditEntry
from hki.db import utcnow
from hki.extensions import db
from hki.plan import services
from hki.plan.history import plan_as_of
from hki.plan.models import Field, Goal, Measure, Plan
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories


def numbers(app: Flask, plan_id: int) -> list[str]:
    """Active numbers of a plan in page order."""
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert plan is not None
        found: list[str] = []
        for f in (f for f in plan.fields if f.archived_at is None):
            found.append(f.number)
            for g in (g for g in f.goals if g.archived_at is None):
                found.append(g.number)
                found.extend(m.number for m in g.measures if m.archived_at is None)
        return found


def gappy_plan(make: Factories) -> Plan:
    """Fields 1 and 3 (2 was archived); in goal 1.1 measure 1.1.2 stands before 1.1.1."""
    plan = make.plan()
    f1 = make.field(plan, number="1")
    make.field(plan, number="2", archived_at=utcnow())
    f3 = make.field(plan, number="3")
    g11 = make.goal(f1, number="1.1")
    make.measure(g11, number="1.1.1", position=1, title="Zweite")
    make.measure(g11, number="1.1.2", position=0, title="Erste")
    g31 = make.goal(f3, number="3.1")
    make.measure(g31, number="3.1.1")
    make.commit()
    return plan


def test_preview_then_apply_swaps_numbers_and_keeps_history(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan = gappy_plan(make)
    plan_id = plan.id
    auth.login_as(Role.COORDINATOR)
    before = utcnow()

    page = client.get(f"/plaene/{plan_id}/nummerierung").get_data(as_text=True)
    assert "Vorschau: 5 Nummern ändern sich" in page
    assert "Dieser Plan ist beschlossen" in page
    for old, new in (("1.1.2", "1.1.1"), ("1.1.1", "1.1.2"), ("3", "2"), ("3.1", "2.1"),
                     ("3.1.1", "2.1.1")):
        assert f'<td class="number">{old}</td><td class="number">{new}</td>' in page
    assert numbers(app, plan_id) == ["1", "1.1", "1.1.2", "1.1.1", "3", "3.1", "3.1.1"]

    with app.app_context():
        fingerprint = services.renumbering_fingerprint(
            services.renumbering(db.session.get_one(Plan, plan_id))
        )
    response = client.post(f"/plaene/{plan_id}/nummerierung", data={"fingerprint": fingerprint})
    assert response.status_code == 302
    assert numbers(app, plan_id) == ["1", "1.1", "1.1.1", "1.1.2", "2", "2.1", "2.1.1"]

    with app.app_context():
        first = db.session.scalars(select(Measure).where(Measure.title == "Erste")).one()
        assert first.number == "1.1.1" and first.version == 2
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "update",
                                     AuditEntry.at >= before)
        ).all()
        changes = sorted(((e.before or {})["number"], (e.after or {})["number"])
                         for e in entries)
        # Exactly one entry per renumbered node, old → new; the placeholders never show.
        assert changes == [("1.1.1", "1.1.2"), ("1.1.2", "1.1.1"), ("3", "2"), ("3.1", "2.1"),
                           ("3.1.1", "2.1.1")]
        as_before = plan_as_of(plan_id, before)
        assert as_before is not None
        assert [m.number for m in as_before.measures()] == ["1.1.2", "1.1.1", "3.1.1"]
        archived = db.session.scalars(select(Field).where(Field.archived_at.is_not(None))).one()
        assert archived.number == "2"

    page = client.get(f"/plaene/{plan_id}/nummerierung").get_data(as_text=True)
    assert "Es gibt nichts neu zu nummerieren" in page


def test_stale_preview_changes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    plan = gappy_plan(make)
    plan_id = plan.id
    auth.login_as(Role.COORDINATOR)
    page = client.post(f"/plaene/{plan_id}/nummerierung", data={"fingerprint": "veraltet"})
    assert page.status_code == 200
    assert "Der Plan wurde inzwischen geändert" in page.get_data(as_text=True)
    assert numbers(app, plan_id) == ["1", "1.1", "1.1.2", "1.1.1", "3", "3.1", "3.1.1"]


def test_renumbering_a_goal_moves_its_measures_along(app_ctx: Flask, make: Factories) -> None:
    plan = make.plan()
    field = make.field(plan, number="1")
    later = make.goal(field, number="1.1", position=1)
    earlier = make.goal(field, number="1.2", position=0)
    make.measure(later, number="1.1.1")
    make.measure(earlier, number="1.2.1")
    make.commit()
    services.renumber(db.session, services.renumbering(plan))
    db.session.commit()
    assert [(g.number, [m.number for m in g.measures]) for g in plan.fields[0].goals] == [
        ("1.1", ["1.1.1"]), ("1.2", ["1.2.1"])
    ] and earlier.number == "1.1" and isinstance(earlier, Goal)
