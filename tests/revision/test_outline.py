"""The Fortschreibung's outline: merging, renaming and renumbering fields and goals of the
draft carries their measures along; the mapping says where each measure lands and flags
only what the coordinator placed by hand."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.plan import services as plan_services
from hki.plan.models import Field, Goal, Plan
from hki.revision import services
from hki.vocab import Outcome, Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.revision.test_revision import NEW, demo


def _field(plan: Plan, number: str) -> Field:
    return next(f for f in plan.fields if f.number == number and f.archived_at is None)


def _goal(plan: Plan, number: str) -> Goal:
    return next(g for g in services.draft_goals(plan) if g.number == number)


def test_measures_follow_merged_renamed_and_renumbered_fields(make: Factories) -> None:
    """The issue's walk: two fields merged, one renamed, goals merged, all renumbered, one
    new field; every carried-over measure lands where these changes put it."""
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    db.session.commit()
    before = {r.measure.id: r for r in services.mapping(db.session, plan, new)}
    # 7 Sprachmittlung goes into 1 Sprache; 2.4 into 2.3; 8 is renamed; a new field 11.
    services.merge_field(db.session, _field(new, "7"), _field(new, "1"))
    services.merge_goal(db.session, _goal(new, "2.4"), _goal(new, "2.3"))
    renamed = _field(new, "8")
    plan_services.update_node(db.session, renamed, {"title": "Ehrenamt, Teilhabe und "
                                                    "Engagement"}, renamed.version)
    plan_services.add_field(db.session, new, {"number": "11", "title": "Digitale Teilhabe"})
    plan_services.renumber(db.session, plan_services.renumbering(new))
    db.session.commit()
    assert [(f.number, f.title) for f in new.fields if f.archived_at is None][5:] == [
        ("6", "Interkulturelle Öffnung der Verwaltung"),
        ("7", "Ehrenamt, Teilhabe und Engagement"),
        ("8", "Antidiskriminierung und Demokratieförderung"),
        ("9", "Ankommen, Beratung und Steuerung"), ("10", "Digitale Teilhabe")]
    rows = services.mapping(db.session, plan, new)
    carried = [r for r in rows if r.carried]
    assert len(carried) == sum(r.carried for r in before.values()) > 40
    for row in carried:
        old_goal, copy = row.measure.goal, row.copy
        assert copy is not None
        expected_goal = {"2.4": "2.3"}.get(old_goal.number)
        # The copy sits in the goal that continues its old goal (directly or by merge) …
        continued = copy.goal.origin_id == old_goal.id or (
            expected_goal is not None and copy.goal.number == expected_goal)
        assert continued, (row.measure.number, copy.number)
        # … under the field that continues its old field, and nothing is flagged.
        assert not (row.moved or row.topic_changed or row.homeless), row.measure.number
        assert copy.number.startswith(copy.goal.number + ".")
        assert copy.goal.field.title == {
            "Sprachmittlung": "Sprache und Spracherwerb",
            "Gesellschaftliche Teilhabe, Ehrenamt und Partizipation":
                "Ehrenamt, Teilhabe und Engagement",
        }.get(old_goal.field.title, old_goal.field.title)
    # The language-mediation pool: under Sprache (1.4/1.5), not under the renumbered 7.
    pool = [r.copy for r in carried if r.measure.goal.field.title == "Sprachmittlung"
            and r.copy is not None]
    assert pool and {c.goal.number for c in pool} == {"1.4", "1.5"}
    assert all(c.number.startswith(("1.4.", "1.5.")) for c in pool)
    # The outline tells where each node came from.
    outline = services.outline_of(db.session, new)
    language = outline[0][0]
    assert language.was == ["1 Sprache und Spracherwerb", "7 Sprachmittlung"]
    assert [g.was for g in outline[1][1]][-1] == [
        "2.3 " + _old_goal(plan, "2.3").title, "2.4 " + _old_goal(plan, "2.4").title]
    assert outline[-1][0].was == [] and outline[-1][0].node.title == "Digitale Teilhabe"


def _old_goal(plan: Plan, number: str) -> Goal:
    return db.session.scalars(select(Goal).join(Goal.field).where(
        Field.plan_id == plan.id, Goal.number == number)).one()


def test_a_measure_moved_by_hand_is_flagged_and_a_removed_goal_blocks_adoption(
    make: Factories,
) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    rows = services.mapping(db.session, plan, new)
    row = next(r for r in rows if r.carried and r.measure.goal.field.number == "7")
    target = _goal(new, "8.1")
    services.decide(db.session, row, services.Choice(Outcome.CARRIED_OVER, target, "",
                                                     None), user)
    moved = next(r for r in services.mapping(db.session, plan, new)
                 if r.measure.id == row.measure.id)
    assert moved.moved and moved.topic_changed and moved.default_goal is not None
    view = services.MappingView.from_args({"hinweis": "thema", "sortierung": "neu"})
    assert [r.measure.id for r in view.apply(services.mapping(db.session, plan, new))] == [
        row.measure.id]
    # A goal removed (archived) with measures in it: they are "homeless" until re-placed.
    homeless_goal = _goal(new, "5.1")
    plan_services.archive(db.session, homeless_goal)
    rows = services.mapping(db.session, plan, new)
    open_points = services.open_points(rows)
    assert open_points and all(r.homeless or r.ends_before_start for r in open_points)
    services.set_end_dates(db.session, rows, date(2031, 12, 31))
    rows = services.mapping(db.session, plan, new)
    assert {r.measure.goal.number for r in services.open_points(rows)} == {"5.1"}
    try:
        services.adopt(db.session, new, date(2026, 3, 1), "V/1")
    except services.RevisionError as error:
        assert "kein Ziel mehr" in str(error)
    else:
        raise AssertionError("adopted with measures in a removed goal")


def test_merge_is_refused_outside_a_draft_and_across_plans(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    db.session.commit()
    auth.login_as(Role.COORDINATOR)
    # A field of the old plan cannot be merged through the draft's form.
    response = client.post(f"/plaene/{plan.id}/fortschreibung/zusammenfuehren", data={
        "kind": "feld", "source": str(plan.fields[6].id), "into": str(_field(new, "1").id)},
        follow_redirects=True)
    assert "Bitte wählen Sie, womit zusammengeführt werden soll." in response.get_data(
        as_text=True)
    assert plan.fields[6].archived_at is None
    response = client.post(f"/plaene/{plan.id}/fortschreibung/zusammenfuehren", data={
        "kind": "ziel", "source": "abc", "into": ""}, follow_redirects=True)
    assert response.status_code == 200
