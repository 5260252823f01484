"""The database itself rejects rows that break the domain's rules, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from hki.extensions import db
from hki.plan.models import IndicatorValue
from hki.vocab import Decision, Status
from tests.factories import Factories


def rejects(action: Callable[[], object]) -> None:
    """Assert that the database refuses the change, then restore a usable session."""
    with pytest.raises(IntegrityError), db.session.begin_nested():
        action()
        db.session.flush()


def test_numbers_unique_within_parent(make: Factories) -> None:
    plan = make.plan()
    field = make.field(plan, number="1")
    rejects(lambda: make.field(plan, number="1"))
    goal = make.goal(field, number="1.1")
    rejects(lambda: make.goal(field, number="1.1"))
    make.measure(goal, number="1.1.1")
    rejects(lambda: make.measure(goal, number="1.1.1"))
    # The same number in another plan is fine.
    assert make.field(make.plan(), number="1").number == "1"


def test_progress_must_be_between_0_and_100(make: Factories) -> None:
    m = make.measure()
    rejects(lambda: make.update(m, progress=101))
    rejects(lambda: make.update(m, progress=-1))
    assert make.update(m, Status.COMPLETED, progress=100).progress == 100


def test_status_outside_vocabulary_rejected_by_database(make: Factories) -> None:
    u = make.update(make.measure())
    make.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE status_updates SET status = 'erledigt' WHERE id = :id"), {"id": u.id}
        )


def test_status_outside_vocabulary_rejected_in_python(make: Factories) -> None:
    m = make.measure()
    with pytest.raises(StatementError, match="erledigt"), db.session.begin_nested():
        make.update(m, "erledigt")  # type: ignore[arg-type]


def test_end_before_start_rejected(make: Factories) -> None:
    rejects(lambda: make.measure(start_date=date(2024, 1, 1), end_date=date(2023, 12, 31)))
    assert make.measure(start_date=date(2024, 1, 1), end_date=None).end_date is None


def test_plan_period_in_order(make: Factories) -> None:
    rejects(lambda: make.plan(valid_from=date(2026, 1, 1), valid_to=date(2025, 1, 1)))


def test_unknown_lead_organisation_rejected(make: Factories) -> None:
    m = make.measure()
    make.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE measures SET lead_organisation_id = 999999 WHERE id = :id"),
            {"id": m.id},
        )


def test_empty_title_rejected(make: Factories) -> None:
    rejects(lambda: make.measure(title=""))
    rejects(lambda: make.field(title=""))


def test_history_tables_cannot_be_changed_or_deleted(make: Factories) -> None:
    m = make.measure()
    u = make.update(m, progress=40)
    indicator = make.indicator(m)
    indicator.values.append(IndicatorValue(as_of=date(2024, 6, 30), value=12.0))
    make.commit()
    for statement in (
        "UPDATE status_updates SET progress = 77",
        "DELETE FROM status_updates",
        "UPDATE update_reviews SET decision = 'returned'",
        "DELETE FROM update_reviews",
        "UPDATE indicator_values SET value = 1",
        "DELETE FROM indicator_values",
    ):
        with pytest.raises(DBAPIError, match="unveränderlich"), db.session.begin_nested():
            db.session.execute(text(statement))
    db.session.refresh(u)
    assert u.progress == 40 and u.review is not None
    assert u.review.decision is Decision.ACCEPTED
