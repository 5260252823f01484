"""Build plan objects for tests with sensible defaults; anything can be overridden."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from itertools import count
from typing import Any, TypeVar

from hki.auth.models import User
from hki.db import AnySession
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan
from hki.reports.models import Report, ReportState
from hki.updates.models import StatusUpdate, UpdateReview, UpdateRound
from hki.vocab import Decision, PlanState, Priority, Role, Status

T = TypeVar("T")


class Factories:
    """Each method adds one object (and any missing parents) and flushes it."""

    def __init__(self, session: AnySession) -> None:
        self.session = session
        self._seq = count(1)

    def _add(self, obj: T) -> T:
        self.session.add(obj)
        self.session.flush()
        return obj

    def commit(self) -> None:
        """Make the objects visible to requests made through the test client."""
        self.session.commit()

    def organisation(self, name: str | None = None) -> Organisation:
        return self._add(Organisation(name=name or f"Organisation {next(self._seq)}"))

    def user(self, **kw: Any) -> User:
        n = next(self._seq)
        kw.setdefault("email", f"person{n}@example.org")
        kw.setdefault("display_name", f"Person {n}")
        kw.setdefault("role", Role.OFFICE)
        kw.setdefault("session_token", f"token-{n}")
        return self._add(User(**kw))

    def plan(self, **kw: Any) -> Plan:
        kw.setdefault("title", f"Handlungskonzept {next(self._seq)}")
        kw.setdefault("city", "Musterstadt")
        kw.setdefault("valid_from", date(2020, 1, 1))
        kw.setdefault("valid_to", date(2025, 12, 31))
        kw.setdefault("state", PlanState.ADOPTED)
        return self._add(Plan(**kw))

    def field(self, plan: Plan | None = None, **kw: Any) -> Field:
        plan = plan or self.plan()
        kw.setdefault("number", str(len(plan.fields) + 1))
        kw.setdefault("title", f"Handlungsfeld {kw['number']}")
        kw.setdefault("position", len(plan.fields))
        return self._add(Field(plan=plan, **kw))

    def goal(self, field: Field | None = None, **kw: Any) -> Goal:
        field = field or self.field()
        kw.setdefault("number", f"{field.number}.{len(field.goals) + 1}")
        kw.setdefault("title", f"Ziel {kw['number']}")
        kw.setdefault("position", len(field.goals))
        return self._add(Goal(field=field, **kw))

    def measure(self, goal: Goal | None = None, **kw: Any) -> Measure:
        goal = goal or self.goal()
        kw.setdefault("number", f"{goal.number}.{len(goal.measures) + 1}")
        kw.setdefault("title", f"Maßnahme {kw['number']}")
        kw.setdefault("position", len(goal.measures))
        kw.setdefault("start_date", date(2021, 1, 1))
        kw.setdefault("end_date", date(2024, 12, 31))
        kw.setdefault("priority", Priority.MEDIUM)
        if "lead" not in kw:
            kw["lead"] = self.organisation()
        return self._add(Measure(goal=goal, **kw))

    def indicator(self, measure: Measure, **kw: Any) -> Indicator:
        kw.setdefault("name", "Teilnehmende")
        kw.setdefault("unit", "Anzahl")
        return self._add(Indicator(measure=measure, **kw))

    def update(
        self,
        measure: Measure,
        status: Status = Status.IN_PROGRESS,
        *,
        as_of: date = date(2024, 6, 30),
        progress: int | None = 50,
        recorded_at: datetime | None = None,
        accepted: bool = True,
        **kw: Any,
    ) -> StatusUpdate:
        """An update; ``accepted`` (the default) also records its acceptance as it is made."""
        if "author" not in kw:
            kw["author"] = self.user()
        recorded_at = recorded_at or datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)
        update = StatusUpdate(
            measure=measure, status=status, as_of=as_of, progress=progress,
            recorded_at=recorded_at, **kw,
        )
        if accepted:
            update.review = UpdateReview(decision=Decision.ACCEPTED, reviewer=kw["author"],
                                         decided_at=recorded_at)
        return self._add(update)

    def round(self, plan: Plan, **kw: Any) -> UpdateRound:
        """An open update round over the first half of 2024, due a year later."""
        kw.setdefault("title", "Sachstand 1. Halbjahr 2024")
        kw.setdefault("period_start", date(2024, 1, 1))
        kw.setdefault("stichtag", date(2024, 6, 30))
        kw.setdefault("due_date", date(2025, 7, 31))
        if "opened_by" not in kw:
            kw["opened_by"] = self.user(role=Role.COORDINATOR)
        return self._add(UpdateRound(plan=plan, **kw))

    def report(self, plan: Plan, **kw: Any) -> Report:
        """A finished report whose "PDF" is a few stand-in bytes."""
        kw.setdefault("stichtag", date(2024, 6, 30))
        kw.setdefault("known_at", datetime(2024, 7, 15, 12, tzinfo=UTC))
        kw.setdefault("state", ReportState.DONE)
        kw.setdefault("pdf", b"%PDF-1.7 stand-in")
        kw.setdefault("sha256", hashlib.sha256(kw["pdf"]).hexdigest())
        kw.setdefault("pages", 1)
        if "requested_by" not in kw:
            kw["requested_by"] = self.user(role=Role.COORDINATOR)
        return self._add(Report(plan=plan, **kw))
