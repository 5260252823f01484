"""The current status is the latest update by ``as_of``, then ``recorded_at``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hki.updates.queries import current_updates
from hki.vocab import Status
from tests.conftest import QueryCounter
from tests.factories import Factories


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_latest_by_as_of_not_by_recording_order(make: Factories) -> None:
    m = make.measure()
    make.update(m, Status.PLANNED, as_of=date(2024, 6, 30), recorded_at=at("2024-07-01"))
    # Recorded later, but describes an earlier date: must not become current.
    make.update(m, Status.DELAYED, as_of=date(2024, 3, 31), recorded_at=at("2024-08-01"))
    current = current_updates(m.goal.field.plan_id)
    assert current[m.id].status is Status.PLANNED


def test_same_as_of_later_recording_wins(make: Factories) -> None:
    m = make.measure()
    make.update(m, Status.IN_PROGRESS, as_of=date(2024, 6, 30), recorded_at=at("2024-07-01"))
    make.update(
        m,
        Status.DELAYED,
        as_of=date(2024, 6, 30),
        recorded_at=at("2024-07-02"),
        note="Korrektur: Förderbescheid fehlt noch.",
    )
    make.update(m, Status.PLANNED, as_of=date(2024, 1, 31), recorded_at=at("2024-09-01"))
    assert current_updates(m.goal.field.plan_id)[m.id].status is Status.DELAYED


def test_stichtag_and_kenntnisstand_filter(make: Factories) -> None:
    m = make.measure()
    make.update(m, Status.PLANNED, as_of=date(2023, 12, 31), recorded_at=at("2024-01-10"))
    make.update(m, Status.IN_PROGRESS, as_of=date(2024, 6, 30), recorded_at=at("2024-07-10"))
    plan_id = m.goal.field.plan_id
    assert current_updates(plan_id, as_of=date(2024, 1, 1))[m.id].status is Status.PLANNED
    assert current_updates(plan_id, as_of=date(2023, 12, 30)) == {}
    known_before = current_updates(plan_id, known_at=at("2024-07-01"))
    assert known_before[m.id].status is Status.PLANNED


def test_measures_without_update_are_absent_and_other_plans_ignored(make: Factories) -> None:
    goal = make.goal()
    silent = make.measure(goal)
    active = make.measure(goal)
    make.update(active, Status.COMPLETED, progress=100)
    other = make.measure()
    make.update(other, Status.DELAYED)
    current = current_updates(goal.field.plan_id)
    assert set(current) == {active.id}
    assert silent.id not in current


def test_one_query_for_any_number_of_measures(make: Factories, count_queries: QueryCounter) -> None:
    goal = make.goal()
    for _ in range(25):
        m = make.measure(goal)
        make.update(m, Status.PLANNED, as_of=date(2023, 1, 1), progress=10)
        make.update(m, Status.IN_PROGRESS, as_of=date(2024, 1, 1), progress=40)
    plan_id = goal.field.plan_id
    make.commit()
    before = count_queries.count
    current = current_updates(plan_id)
    assert count_queries.count - before == 1
    assert len(current) == 25
    assert {u.status for u in current.values()} == {Status.IN_PROGRESS}
