"""The plan as it stood at any moment, rebuilt from the snapshots in the audit log.

Every change to a versioned plan element writes, in the same transaction, an audit entry
with a full snapshot of the element (``hki.auth.audit``). The latest snapshot of each
element with ``effective_at`` up to a moment is the element as it stood then. Ordinary
pages never read this history; only reports and history views do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select

from hki.auth.audit import current_actor
from hki.auth.models import AuditEntry
from hki.db import AnySession, utcnow
from hki.extensions import db
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan, TargetGroup
from hki.vocab import PlanState, Priority


@dataclass(frozen=True)
class IndicatorAsOf:
    """An indicator as it stood."""

    id: int
    name: str
    unit: str
    baseline_value: float | None
    baseline_date: date | None
    target_value: float | None
    target_date: date | None
    data_source: str


@dataclass(frozen=True)
class MeasureAsOf:
    """A measure as it stood, with names (not ids) of its organisations and groups."""

    id: int
    number: str
    title: str
    description: str
    lead: str
    partners: tuple[str, ...]
    target_groups: tuple[str, ...]
    start_date: date
    end_date: date | None
    priority: Priority
    funding_note: str
    budget_eur: int | None
    indicators: tuple[IndicatorAsOf, ...]
    #: The predecessor plan's measure this one continues (Fortschreibung).
    origin_id: int | None = None


@dataclass(frozen=True)
class GoalAsOf:
    """A goal as it stood, with its measures in order."""

    id: int
    number: str
    title: str
    description: str
    measures: tuple[MeasureAsOf, ...]


@dataclass(frozen=True)
class FieldAsOf:
    """A field of action as it stood, with its goals in order."""

    id: int
    number: str
    title: str
    description: str
    goals: tuple[GoalAsOf, ...]


@dataclass(frozen=True)
class PlanAsOf:
    """The whole plan tree at ``at``: only elements that existed and were not archived."""

    id: int
    at: datetime
    title: str
    city: str
    owner_unit: str
    description: str
    valid_from: date
    valid_to: date
    state: PlanState
    adopted_on: date | None
    adoption_paper_ref: str | None
    fields: tuple[FieldAsOf, ...]

    def measures(self) -> list[MeasureAsOf]:
        """All measures of the plan in outline order."""
        return [m for f in self.fields for g in f.goals for m in g.measures]


class HistoryGapError(LookupError):
    """A plan element refers to an organisation or target group unknown at that moment.

    Reports must never print "?" for a lead office, so this is a bug to fix, not a case to
    show: :func:`cover_references` makes sure every reference is covered.
    """


#: Audit action of a snapshot written to cover an earlier reference (see cover_references).
BACKDATE = "backdate"
#: Measure snapshot key → the entity its ids refer to.
_REFERENCES = {"lead_organisation_id": Organisation.__tablename__,
               "partners": Organisation.__tablename__,
               "target_groups": TargetGroup.__tablename__}


def referenced_ids(snapshot: dict[str, Any]) -> list[tuple[str, int]]:
    """(entity, id) of every organisation and target group a measure snapshot refers to."""
    found = []
    for key, entity in _REFERENCES.items():
        value = snapshot.get(key)
        ids = value if isinstance(value, list) else [value]
        found += [(entity, int(i)) for i in ids if i is not None]
    return found


def cover_references(session: AnySession, plan_id: int) -> int:
    """Let each organisation and target group exist in history as long as its measures do.

    The rule: an organisation or target group counts from the earliest moment any measure
    snapshot referring to it counts from. An imported plan counts from its adoption, but the
    organisations it names may be new today (or were created in hki after that date); for
    each such one a copy of its earliest snapshot is written, counting from that earlier
    moment. Returns how many were written. Runs in the caller's transaction.
    """
    measure_ids = (select(Measure.id).join(Measure.goal).join(Goal.field)
                   .where(Field.plan_id == plan_id))
    needed: dict[tuple[str, int], datetime] = {}
    for effective_at, snapshot in session.execute(
            select(AuditEntry.effective_at, AuditEntry.snapshot).where(
                AuditEntry.entity == Measure.__tablename__,
                AuditEntry.entity_id.in_(measure_ids), AuditEntry.effective_at.is_not(None))):
        if effective_at is None or snapshot is None:
            continue
        for key in referenced_ids(snapshot):
            if key not in needed or effective_at < needed[key]:
                needed[key] = effective_at
    if not needed:
        return 0
    earliest: dict[tuple[str, int], tuple[datetime, dict[str, Any]]] = {}
    for entity in {e for e, _i in needed}:
        ids = [i for e, i in needed if e == entity]
        rows = session.execute(
            select(AuditEntry.entity_id, AuditEntry.effective_at, AuditEntry.snapshot)
            # Snapshots have an effective time; a deletion (snapshot JSON null) has none.
            .where(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids),
                   AuditEntry.effective_at.is_not(None))
            .order_by(AuditEntry.effective_at.desc(), AuditEntry.id.desc()))
        for entity_id, effective_at, snapshot in rows:
            earliest[(entity, entity_id)] = (effective_at, snapshot)  # last one wins
    user_id, actor = current_actor()
    now = utcnow()
    rows_to_write = []
    for (entity, entity_id), moment in sorted(needed.items()):
        first = earliest.get((entity, entity_id))
        if first is not None and first[0] <= moment:
            continue
        if first is None:
            raise HistoryGapError(f"{entity} {entity_id} has no snapshot at all")
        rows_to_write.append({
            "action": BACKDATE, "entity": entity, "entity_id": entity_id,
            "user_id": user_id, "actor": actor, "at": now, "before": None,
            "after": {"effective_at": moment.astimezone(UTC).isoformat()},
            "snapshot": first[1], "effective_at": moment})
    if rows_to_write:
        session.execute(insert(AuditEntry), rows_to_write)
    return len(rows_to_write)


def _latest_snapshots(conditions: list[Any], at: datetime) -> Select[str, int, Any]:
    """Select (entity, entity_id, snapshot) of each element's latest snapshot up to ``at``."""
    ranked = (
        select(
            AuditEntry.entity,
            AuditEntry.entity_id,
            AuditEntry.snapshot,
            func.row_number()
            .over(
                partition_by=(AuditEntry.entity, AuditEntry.entity_id),
                order_by=(AuditEntry.effective_at.desc(), AuditEntry.id.desc()),
            )
            .label("recency_rank"),
        )
        .where(AuditEntry.snapshot.is_not(None), AuditEntry.effective_at <= at, or_(*conditions))
        .subquery()
    )
    return select(ranked.c.entity, ranked.c.entity_id, ranked.c.snapshot).where(
        ranked.c.recency_rank == 1
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _in_order(items: list[tuple[dict[str, Any], Any]]) -> tuple[Any, ...]:
    """Sort built elements by their position, then number, as of the moment."""
    return tuple(
        built for snap, built in sorted(items, key=lambda p: (p[0]["position"], p[0]["number"]))
    )


def _existed(snap: dict[str, Any] | None) -> bool:
    return snap is not None and snap.get("archived_at") is None


def plan_as_of(plan_id: int, at: datetime) -> PlanAsOf | None:
    """Rebuild the plan tree as it stood at ``at``; ``None`` if the plan did not exist yet.

    Five queries whatever the plan's size: the ids of its elements (elements are never
    deleted and never leave their plan), then one query for all their snapshots.
    """
    field_ids = list(db.session.scalars(select(Field.id).where(Field.plan_id == plan_id)))
    goal_ids = list(db.session.scalars(select(Goal.id).where(Goal.field_id.in_(field_ids))))
    measure_ids = list(
        db.session.scalars(select(Measure.id).where(Measure.goal_id.in_(goal_ids)))
    )
    indicator_ids = list(
        db.session.scalars(select(Indicator.id).where(Indicator.measure_id.in_(measure_ids)))
    )
    conditions = [
        and_(AuditEntry.entity == Plan.__tablename__, AuditEntry.entity_id == plan_id),
        and_(AuditEntry.entity == Field.__tablename__, AuditEntry.entity_id.in_(field_ids)),
        and_(AuditEntry.entity == Goal.__tablename__, AuditEntry.entity_id.in_(goal_ids)),
        and_(AuditEntry.entity == Measure.__tablename__, AuditEntry.entity_id.in_(measure_ids)),
        and_(AuditEntry.entity == Indicator.__tablename__,
             AuditEntry.entity_id.in_(indicator_ids)),
        AuditEntry.entity.in_([Organisation.__tablename__, TargetGroup.__tablename__]),
    ]
    snaps: dict[str, dict[int, dict[str, Any]]] = {}
    for entity, entity_id, snapshot in db.session.execute(_latest_snapshots(conditions, at)):
        snaps.setdefault(entity, {})[entity_id] = snapshot
    plan = snaps.get(Plan.__tablename__, {}).get(plan_id)
    if plan is None:
        return None
    return _build(plan, snaps, at)


def _build(plan: dict[str, Any], snaps: dict[str, dict[int, dict[str, Any]]],
           at: datetime) -> PlanAsOf:
    """Assemble the frozen tree from the snapshots, children grouped by parent id."""
    names = {i: s["name"] for i, s in snaps.get(Organisation.__tablename__, {}).items()}
    groups = {i: s["name"] for i, s in snaps.get(TargetGroup.__tablename__, {}).items()}

    def name(found: dict[int, str], entity_id: int, measure: dict[str, Any]) -> str:
        if entity_id not in found:
            raise HistoryGapError(
                f"measure {measure['id']} refers to {entity_id}, unknown at {at.isoformat()}")
        return found[entity_id]

    children: dict[tuple[str, int], list[tuple[dict[str, Any], Any]]] = {}

    for i, s in snaps.get(Indicator.__tablename__, {}).items():
        if _existed(s):
            indicator = IndicatorAsOf(
                i, s["name"], s["unit"], s["baseline_value"], _date(s["baseline_date"]),
                s["target_value"], _date(s["target_date"]), s["data_source"],
            )
            children.setdefault(("measure", s["measure_id"]), []).append(
                ({**s, "number": ""}, indicator)
            )
    for i, s in snaps.get(Measure.__tablename__, {}).items():
        if _existed(s):
            measure = MeasureAsOf(
                i, s["number"], s["title"], s["description"],
                name(names, s["lead_organisation_id"], s),
                tuple(sorted(name(names, o, s) for o in s["partners"])),
                tuple(sorted(name(groups, t, s) for t in s["target_groups"])),
                date.fromisoformat(s["start_date"]), _date(s["end_date"]),
                Priority(s["priority"]), s["funding_note"], s["budget_eur"],
                _in_order(children.get(("measure", i), [])), s.get("origin_id"),
            )
            children.setdefault(("goal", s["goal_id"]), []).append((s, measure))
    for i, s in snaps.get(Goal.__tablename__, {}).items():
        if _existed(s):
            goal = GoalAsOf(i, s["number"], s["title"], s["description"],
                            _in_order(children.get(("goal", i), [])))
            children.setdefault(("field", s["field_id"]), []).append((s, goal))
    fields = []
    for i, s in snaps.get(Field.__tablename__, {}).items():
        if _existed(s) and s["plan_id"] == plan["id"]:
            field = FieldAsOf(i, s["number"], s["title"], s["description"],
                              _in_order(children.get(("field", i), [])))
            fields.append((s, field))
    return PlanAsOf(
        id=plan["id"], at=at, title=plan["title"], city=plan["city"],
        owner_unit=plan["owner_unit"], description=plan["description"],
        valid_from=date.fromisoformat(plan["valid_from"]),
        valid_to=date.fromisoformat(plan["valid_to"]), state=PlanState(plan["state"]),
        adopted_on=_date(plan["adopted_on"]), adoption_paper_ref=plan["adoption_paper_ref"],
        fields=_in_order(fields),
    )


def measure_history(measure: Measure) -> list[AuditEntry]:
    """Changes to a measure and its indicators, newest first: its Änderungsverlauf."""
    indicator_ids = select(Indicator.id).where(Indicator.measure_id == measure.id)
    stmt = (
        select(AuditEntry)
        .where(
            or_(
                and_(AuditEntry.entity == Measure.__tablename__,
                     AuditEntry.entity_id == measure.id),
                and_(AuditEntry.entity == Indicator.__tablename__,
                     AuditEntry.entity_id.in_(indicator_ids)),
            )
        )
        .order_by(AuditEntry.id.desc())
    )
    return list(db.session.scalars(stmt))
