"""``flask hki seed-demo`` loads the packaged demo plan once, and only once."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from hki.auth.models import User
from hki.db import utcnow
from hki.demo.seed import load_demo_data
from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.plan.models import Field, Goal, Measure, Organisation, Plan
from hki.updates.models import StatusUpdate
from hki.updates.queries import current_updates
from hki.vocab import Role, Status


def row_counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Plan, Field, Goal, Measure, StatusUpdate, Organisation, User)
    }


def test_seed_demo_loads_plan_once(app: Flask, runner: FlaskCliRunner) -> None:
    data = load_demo_data()
    measures = [m for f in data["fields"] for g in f["goals"] for m in g["measures"]]
    updates = sum(len(m["updates"]) for m in measures)

    first = runner.invoke(args=["hki", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"{len(measures)} Maßnahmen, {updates} Sachstände" in first.output

    with app.app_context():
        counts = row_counts()
        assert counts["Plan"] == 1
        assert counts["Field"] == len(data["fields"])
        assert counts["Measure"] == len(measures) == 80
        assert counts["StatusUpdate"] == updates
        plan = db.session.scalars(select(Plan)).one()
        assert plan.adopted_on is not None and plan.adopted_on.isoformat() == "2020-04-29"
        # 1.1.1's last update in the data is "ongoing" (Daueraufgabe, no percentage).
        m111 = db.session.scalars(select(Measure).where(Measure.number == "1.1.1")).one()
        current = current_updates(plan.id)[m111.id]
        assert current.status is Status.ONGOING and current.progress is None
        kmut = db.session.scalars(select(User).where(User.display_name == "KMuT")).one()
        assert kmut.role is Role.COORDINATOR
        # History is dated from adoption; measures added later count from their start.
        assert plan_as_of(plan.id, datetime(2020, 4, 1, tzinfo=UTC)) is None
        in_2021 = plan_as_of(plan.id, datetime(2021, 1, 1, tzinfo=UTC))
        assert in_2021 is not None
        numbers = {m.number for m in in_2021.measures()}
        assert "1.1.1" in numbers and "1.2.4" not in numbers
        now = plan_as_of(plan.id, utcnow())
        assert now is not None and len(now.measures()) == 80

    second = runner.invoke(args=["hki", "seed-demo"])
    assert second.exit_code == 0
    assert "bereits vorhanden" in second.output
    with app.app_context():
        assert row_counts() == counts
