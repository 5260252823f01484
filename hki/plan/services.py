"""Changes to the plan tree. Each flushes and returns; the caller commits once.

History needs nothing here: every flush writes audit entries with snapshots
(``hki.auth.audit``). Saving over someone else's change raises :class:`EditConflictError`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, cast, literal, select, update

from hki.auth.models import AuditEntry
from hki.db import AnySession, utcnow
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan, TargetGroup

Node = Plan | Field | Goal | Measure | Indicator


class EditConflictError(Exception):
    """Someone else saved the element since the form was loaded.

    ``changes`` are the audit entries of those saves, oldest first, to show the user.
    """

    def __init__(self, changes: list[AuditEntry]) -> None:
        super().__init__("edit conflict")
        self.changes = changes


def _check_version(session: AnySession, node: Node, expected: int | None) -> None:
    """Refuse to save when the element changed since version ``expected`` was shown."""
    if expected is not None and expected == node.version:
        return
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == node.__tablename__, AuditEntry.entity_id == node.id,
               AuditEntry.action == "update")
        .order_by(AuditEntry.id)
    ).all()
    seen = expected or 0
    newer = [e for e in entries if (e.snapshot or {}).get("version", 0) > seen]
    raise EditConflictError(newer)


def _apply(node: Node, values: dict[str, Any]) -> None:
    """Set attributes; the version counter moves on at flush (``hki.db``)."""
    for key, value in values.items():
        setattr(node, key, value)


def update_node(session: AnySession, node: Node, values: dict[str, Any],
                expected_version: int | None) -> Node:
    """Save edited values of a plan element, unless someone else saved it meanwhile."""
    _check_version(session, node, expected_version)
    _apply(node, values)
    session.flush()
    return node


def next_position(siblings: list[Any]) -> int:
    """The position after the last sibling (archived ones included: positions stay unique)."""
    return max((s.position for s in siblings), default=-1) + 1


def add_field(session: AnySession, plan: Plan, values: dict[str, Any]) -> Field:
    """Add a field of action at the end of the plan."""
    field = Field(plan=plan, position=next_position(plan.fields), **values)
    session.add(field)
    session.flush()
    return field


def add_goal(session: AnySession, field: Field, values: dict[str, Any]) -> Goal:
    """Add a goal at the end of a field."""
    goal = Goal(field=field, position=next_position(field.goals), **values)
    session.add(goal)
    session.flush()
    return goal


def add_measure(session: AnySession, goal: Goal, values: dict[str, Any]) -> Measure:
    """Add a measure at the end of a goal."""
    measure = Measure(goal=goal, position=next_position(goal.measures), **values)
    session.add(measure)
    session.flush()
    return measure


def add_indicator(session: AnySession, measure: Measure, values: dict[str, Any]) -> Indicator:
    """Add an indicator to a measure."""
    indicator = Indicator(measure=measure, position=next_position(measure.indicators),
                          **values)
    session.add(indicator)
    session.flush()
    return indicator


def archive(session: AnySession, node: Field | Goal | Measure | Indicator) -> None:
    """Archive an element: it leaves the current plan but stays in history and old reports."""
    if node.archived_at is None:
        node.archived_at = utcnow()
        session.flush()


def next_free(prefix: str, used: list[str]) -> str:
    """The number after the highest "<prefix>.<k>" in ``used``, e.g. "2.3" + 1 → "2.3.4"."""
    last = max((int(n.rsplit(".", 1)[1]) for n in used if n.startswith(prefix + ".")
                and n.rsplit(".", 1)[1].isdigit()), default=0)
    return f"{prefix}.{last + 1}"


def next_number(goal: Goal) -> str:
    """The next free measure number in a goal, e.g. "2.3.4"."""
    return next_free(goal.number, [m.number for m in goal.measures if m.archived_at is None])


def move_measure(session: AnySession, measure: Measure, goal: Goal,
                 expected_version: int | None) -> Measure:
    """Move a measure under another goal; it gets that goal's next free number."""
    _check_version(session, measure, expected_version)
    _apply(measure, {"goal": goal, "number": next_number(goal),
                     "position": next_position(goal.measures)})
    session.flush()
    return measure


def shift(session: AnySession, node: Field | Goal | Measure, siblings: list[Any],
          step: int) -> None:
    """Swap a node's place with its neighbour among active siblings (step -1 up, +1 down)."""
    active = sorted((s for s in siblings if s.archived_at is None), key=lambda s: s.position)
    index = active.index(node)
    other = index + step
    if 0 <= other < len(active):
        neighbour = active[other]
        node.position, neighbour.position = neighbour.position, node.position
        session.flush()


def target_groups_named(session: AnySession, names: list[str]) -> list[TargetGroup]:
    """The target groups with these names, creating the ones that do not exist yet."""
    existing = {t.name.lower(): t for t in session.scalars(select(TargetGroup))}
    groups = []
    for name in names:
        group = existing.get(name.lower())
        if group is None:
            group = TargetGroup(name=name)
            session.add(group)
            existing[name.lower()] = group
        groups.append(group)
    return groups


@dataclass(frozen=True)
class MeasureInput:
    """Checked values of the measure form, ready to save."""

    number: str
    title: str
    description: str
    lead: Organisation
    partners: list[Organisation]
    target_groups: list[TargetGroup]
    start_date: date
    end_date: date | None
    priority: Any
    funding_note: str
    budget_eur: int | None

    def values(self) -> dict[str, Any]:
        """As attribute values for the model."""
        return dict(self.__dict__)


# --- Renumbering -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewNumber:
    """One node whose number a renumbering changes."""

    node: Field | Goal | Measure
    old: str
    new: str


def active(nodes: list[Any]) -> list[Any]:
    """The nodes not archived, in their order on the page."""
    return sorted((n for n in nodes if n.archived_at is None), key=lambda n: n.position)


def renumbering(plan: Plan) -> list[NewNumber]:
    """The numbers that follow the order on the page (1; 1.1; 1.1.1 …), where they differ.

    Numbers are labels that council papers quote, so they change only by this explicit,
    previewed action; archived nodes keep theirs for history and old reports.
    """
    wanted: list[tuple[Field | Goal | Measure, str]] = []
    for i, field in enumerate(active(plan.fields), 1):
        wanted.append((field, str(i)))
        for j, goal in enumerate(active(field.goals), 1):
            wanted.append((goal, f"{i}.{j}"))
            wanted.extend((m, f"{i}.{j}.{k}") for k, m in enumerate(active(goal.measures), 1))
    return [NewNumber(node, node.number, new) for node, new in wanted if node.number != new]


def renumbering_fingerprint(changes: list[NewNumber]) -> str:
    """Identifies a preview, so that a confirmation applies exactly what was shown."""
    text = "|".join(f"{type(c.node).__name__}:{c.node.id}:{c.old}>{c.new}" for c in changes)
    return hashlib.sha256(text.encode()).hexdigest()


def renumber(session: AnySession, changes: list[NewNumber]) -> None:
    """Give the nodes their new numbers; each change is audited like any other edit.

    Numbers are unique among active siblings and swapping two would collide midway, so
    the changed rows first get placeholders by plain SQL (not audited, never committed).
    """
    for model in (Field, Goal, Measure):
        ids = [c.node.id for c in changes if type(c.node) is model]
        if ids:
            session.execute(
                update(model).where(model.id.in_(ids))
                .values(number=literal("~", String) + cast(model.id, String))
                .execution_options(synchronize_session=False)
            )
    for change in changes:
        change.node.number = change.new
    session.flush()
