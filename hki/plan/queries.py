"""Reads of the plan tree, each in a fixed number of queries whatever the plan's size."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from hki.extensions import db
from hki.plan.models import Field, Goal, Indicator, Measure, Plan
from hki.updates.models import StatusUpdate
from hki.updates.queries import current_updates, value_counts
from hki.vocab import Status


def all_plans() -> list[Plan]:
    """Every plan, the newest period first."""
    return list(db.session.scalars(select(Plan).order_by(Plan.valid_from.desc(), Plan.id)))


def plan_tree(plan_id: int) -> Plan | None:
    """Load a plan with fields, goals, measures and their lead organisations."""
    stmt = (
        select(Plan)
        .where(Plan.id == plan_id)
        .options(
            selectinload(Plan.fields.and_(Field.archived_at.is_(None)))
            .selectinload(Field.goals.and_(Goal.archived_at.is_(None)))
            .selectinload(Goal.measures.and_(Measure.archived_at.is_(None)))
            .joinedload(Measure.lead)
        )
    )
    return db.session.scalars(stmt).one_or_none()


def measure_detail(measure_id: int) -> Measure | None:
    """Load a measure with everything its page shows except the update history."""
    stmt = (
        select(Measure)
        .where(Measure.id == measure_id)
        .options(
            joinedload(Measure.goal).joinedload(Goal.field).joinedload(Field.plan),
            joinedload(Measure.lead),
            selectinload(Measure.partners),
            selectinload(Measure.target_groups),
            # Only values that count: a value an office gave with its update waits, like
            # the update, for the coordination's acceptance.
            selectinload(Measure.indicators.and_(Indicator.archived_at.is_(None))).selectinload(
                Indicator.values.and_(value_counts())
            ),
        )
    )
    # populate_existing: a measure already in the session keeps no unfiltered values.
    return db.session.scalars(stmt.execution_options(populate_existing=True)
                              ).unique().one_or_none()


@dataclass(frozen=True)
class PlanOverview:
    """A plan tree with each measure's current update and the counts per status."""

    plan: Plan
    current: dict[int, StatusUpdate]
    counts: dict[Status, int]
    without_update: int
    total: int


def plan_overview(plan_id: int) -> PlanOverview | None:
    """Gather what the plan overview page shows; ``None`` if there is no such plan."""
    plan = plan_tree(plan_id)
    if plan is None:
        return None
    current = current_updates(plan_id)
    measures = [m for f in plan.fields for g in f.goals for m in g.measures]
    tally = Counter(current[m.id].status for m in measures if m.id in current)
    return PlanOverview(
        plan=plan,
        current=current,
        counts={s: tally.get(s, 0) for s in Status},
        without_update=sum(1 for m in measures if m.id not in current),
        total=len(measures),
    )
