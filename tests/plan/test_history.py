"""``plan_as_of`` returns the plan exactly as it stood at any moment (record time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask

from hki.auth.audit import effective_from
from hki.db import utcnow
from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.vocab import Priority
from tests.conftest import QueryCounter
from tests.factories import Factories


def test_three_edits_each_moment_in_between(app_ctx: Flask, make: Factories) -> None:
    vhs, jobcenter = make.organisation("VHS"), make.organisation("Jobcenter")
    m = make.measure(title="Sprachkurse", lead=vhs, priority=Priority.LOW)
    plan_id = m.goal.field.plan_id
    make.commit()
    moments = [utcnow()]
    m.title = "Sprachkurse mit Kinderbetreuung"
    db.session.commit()
    moments.append(utcnow())
    m.lead = jobcenter
    m.partners = [vhs]
    m.end_date = date(2026, 6, 30)
    db.session.commit()
    moments.append(utcnow())
    m.priority = Priority.HIGH
    m.description = "Neu gefasst"
    db.session.commit()
    moments.append(utcnow())

    seen = []
    for moment in moments:
        plan = plan_as_of(plan_id, moment)
        assert plan is not None
        (measure,) = plan.measures()
        seen.append(
            (
                measure.title,
                measure.lead,
                measure.partners,
                measure.end_date,
                measure.priority,
                measure.description,
            )
        )
    assert seen == [
        ("Sprachkurse", "VHS", (), date(2024, 12, 31), Priority.LOW, ""),
        ("Sprachkurse mit Kinderbetreuung", "VHS", (), date(2024, 12, 31), Priority.LOW, ""),
        (
            "Sprachkurse mit Kinderbetreuung",
            "Jobcenter",
            ("VHS",),
            date(2026, 6, 30),
            Priority.LOW,
            "",
        ),
        (
            "Sprachkurse mit Kinderbetreuung",
            "Jobcenter",
            ("VHS",),
            date(2026, 6, 30),
            Priority.HIGH,
            "Neu gefasst",
        ),
    ]


def test_before_creation_there_is_nothing(app_ctx: Flask, make: Factories) -> None:
    before = utcnow()
    m = make.measure()
    make.commit()
    assert plan_as_of(m.goal.field.plan_id, before) is None


def test_archived_measure_disappears_only_after_archiving(app_ctx: Flask, make: Factories) -> None:
    goal = make.goal()
    keep, drop = make.measure(goal), make.measure(goal)
    plan_id = goal.field.plan_id
    make.commit()
    before = utcnow()
    drop.archived_at = utcnow()
    db.session.commit()
    after = utcnow()
    earlier, later = plan_as_of(plan_id, before), plan_as_of(plan_id, after)
    assert earlier is not None and later is not None
    assert [m.id for m in earlier.measures()] == [keep.id, drop.id]
    assert [m.id for m in later.measures()] == [keep.id]


def test_moved_measure_appears_under_old_goal_before_the_move(
    app_ctx: Flask, make: Factories
) -> None:
    field = make.field()
    old_goal, new_goal = make.goal(field), make.goal(field)
    m = make.measure(old_goal, number="1.1.1")
    make.commit()
    before = utcnow()
    m.goal = new_goal
    m.number = "1.2.1"
    db.session.commit()
    after = utcnow()
    then, now = plan_as_of(field.plan_id, before), plan_as_of(field.plan_id, after)
    assert then is not None and now is not None
    assert [[x.number for x in g.measures] for g in then.fields[0].goals] == [["1.1.1"], []]
    assert [[x.number for x in g.measures] for g in now.fields[0].goals] == [[], ["1.2.1"]]


def test_organisation_renamed_later_keeps_old_name_in_the_past(
    app_ctx: Flask, make: Factories
) -> None:
    org = make.organisation("Fachbereich Soziales")
    m = make.measure(lead=org)
    make.commit()
    before = utcnow()
    org.name = "Fachbereich Soziales und Senioren"
    db.session.commit()
    then = plan_as_of(m.goal.field.plan_id, before)
    now = plan_as_of(m.goal.field.plan_id, utcnow())
    assert then is not None and now is not None
    assert then.measures()[0].lead == "Fachbereich Soziales"
    assert now.measures()[0].lead == "Fachbereich Soziales und Senioren"


def test_imported_history_counts_from_the_given_moment(app_ctx: Flask, make: Factories) -> None:
    adopted = datetime(2020, 4, 29, tzinfo=UTC)
    with effective_from(adopted):
        m = make.measure(title="Lotsenprojekt")
        make.commit()
    assert plan_as_of(m.goal.field.plan_id, adopted - timedelta(days=1)) is None
    plan = plan_as_of(m.goal.field.plan_id, adopted + timedelta(days=1))
    assert plan is not None and plan.measures()[0].title == "Lotsenprojekt"


def test_fixed_number_of_queries(
    app_ctx: Flask, make: Factories, count_queries: QueryCounter
) -> None:
    def queries(plan_id: int) -> int:
        before = count_queries.count
        assert plan_as_of(plan_id, utcnow()) is not None
        return count_queries.count - before

    small = make.plan()
    make.measure(make.goal(make.field(small)))
    big = make.plan()
    for _ in range(3):
        field = make.field(big)
        for _ in range(3):
            goal = make.goal(field)
            for _ in range(3):
                make.indicator(make.measure(goal, partners=[make.organisation()]))
    make.commit()
    assert queries(small.id) == queries(big.id) == 5
