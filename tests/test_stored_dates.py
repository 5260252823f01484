"""No stored date outside 1900–2200, whatever writes it (#19 F5).

Forms and imports refuse such dates in German; the guard in hki.db stands behind them for
every date column, because one stored 0001-01-01 or 9999-12-31 made pages answer 500 for
every role, for good.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import Date, func, select, update

from hki.db import ImplausibleDateError, _date_attributes
from hki.extensions import Model, db
from hki.plan.models import Indicator, Plan
from hki.updates.models import UpdateRound
from hki.vocab import Role
from tests.factories import Factories


def test_every_date_column_of_every_model_is_guarded() -> None:
    columns = {(m.class_.__name__, c.key) for m in Model.registry.mappers
               for c in m.columns if isinstance(c.type, Date)}
    guarded = {(m.class_.__name__, key) for m in Model.registry.mappers
               for key in _date_attributes(m)}
    assert columns and columns <= guarded
    assert ("Indicator", "target_date") in guarded and ("UpdateRound", "period_start") in guarded


@pytest.mark.parametrize("far", [date(1, 1, 1), date(1899, 12, 31), date(2201, 1, 1),
                                 date(9999, 12, 31)])
def test_far_dates_are_refused_and_nothing_is_stored(make: Factories, far: date) -> None:
    plan = make.plan()
    measure = make.measure(make.goal(make.field(plan)))
    make.commit()
    with pytest.raises(ImplausibleDateError, match=str(far.year)):
        make.indicator(measure, target_date=far)
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Indicator)) == 0
    with pytest.raises(ImplausibleDateError):
        make.round(plan, period_start=far)
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(UpdateRound)) == 0
    stored = db.session.get(Plan, plan.id)
    assert stored is not None
    stored.valid_to = far  # a change of a loaded row is looked at, too
    with pytest.raises(ImplausibleDateError):
        db.session.flush()
    db.session.rollback()


def test_the_edges_are_stored(make: Factories) -> None:
    plan = make.plan(valid_from=date(1900, 1, 1), valid_to=date(2200, 12, 31))
    make.commit()
    assert db.session.get(Plan, plan.id) is not None


def test_a_page_that_reaches_the_guard_answers_400_in_german(
    fresh_apps: Callable[..., Flask],
) -> None:
    app = fresh_apps()
    with app.app_context():
        make = Factories(db.session)
        plan_id, user = make.plan().id, make.user(role=Role.COORDINATOR)
        make.commit()
        user_id = user.get_id()

    def far_end() -> str:
        stored = db.session.get(Plan, plan_id)
        assert stored is not None
        stored.valid_to = date(9999, 12, 31)
        db.session.commit()
        return "gespeichert"

    app.add_url_rule("/test/fernes-ende", view_func=far_end)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
        session["last_seen"] = session["login_at"] = datetime.now(UTC).timestamp()
    answer = client.get("/test/fernes-ende")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "außerhalb der Jahre 1900 bis 2200" in page and "nichts gespeichert" in page
    with app.app_context():
        stored = db.session.get(Plan, plan_id)
        assert stored is not None and stored.valid_to.year < 9999


def test_a_row_holding_an_old_implausible_date_can_still_be_repaired(make: Factories) -> None:
    """Only changed dates are looked at: renaming such a plan is not refused."""
    plan = make.plan()
    make.commit()
    db.session.execute(update(Plan).where(Plan.id == plan.id)
                       .values(adopted_on=date(1, 1, 1)))  # as an old version might have
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Plan, plan.id)
    assert stored is not None
    stored.title = "HKI 2020–2025 (repariert)"
    db.session.commit()
    stored.adopted_on = date(2020, 4, 29)
    db.session.commit()
    assert db.session.get(Plan, plan.id).adopted_on == date(2020, 4, 29)  # type: ignore[union-attr]
