"""The Fortschreibung as plain functions: proposals, checks, the successor, the adoption.

Nothing of the old plan is changed by the wizard: its measures, history and reports stay
as they were; the decisions are rows of their own (``MeasureOutcome``). Only the adoption
changes the old plan's state, to *abgeschlossen*, after which it is read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from hki.auth.models import User
from hki.db import AnySession
from hki.extensions import db
from hki.plan.forms import NUMBER_PATTERN
from hki.plan.models import TITLE_LENGTH, Field, Goal, Indicator, Measure, Plan
from hki.revision.models import MeasureOutcome
from hki.updates.models import StatusUpdate, UpdateRound
from hki.updates.queries import current_updates, update_history
from hki.updates.rounds import close_round
from hki.vocab import Outcome, PlanState, Status

#: Statuses whose measures are proposed for closing, and for dropping; all others move on.
PROPOSE_CLOSE = frozenset({Status.COMPLETED})
PROPOSE_DROP = frozenset({Status.DISCONTINUED})
REASON_MAX = 2000


class RevisionError(ValueError):
    """The Fortschreibung cannot be done as asked; ``errors`` say why, by form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class Proposal:
    """One measure of the old plan in the wizard, with what is proposed or chosen."""

    measure: Measure
    update: StatusUpdate | None
    outcome: Outcome
    goal_number: str
    reason: str = ""


def active_measures(plan: Plan) -> list[Measure]:
    """The plan's current measures in outline order, with what the wizard shows and copies.

    One query for the tree and one per copied collection, whatever the plan's size.
    """
    stmt = (select(Measure).join(Measure.goal).join(Goal.field)
            .where(Field.plan_id == plan.id, Field.archived_at.is_(None),
                   Goal.archived_at.is_(None), Measure.archived_at.is_(None))
            .options(contains_eager(Measure.goal).contains_eager(Goal.field),
                     joinedload(Measure.lead), selectinload(Measure.partners),
                     selectinload(Measure.target_groups), selectinload(Measure.indicators))
            .order_by(Field.position, Goal.position, Measure.position))
    return list(db.session.scalars(stmt).unique())


def proposals(plan: Plan) -> list[Proposal]:
    """Every measure with its final state and the default: finished ones stay behind."""
    current = current_updates(plan.id)
    out = []
    for m in active_measures(plan):
        update = current.get(m.id)
        status = update.status if update else None
        if status in PROPOSE_CLOSE:
            outcome = Outcome.CLOSED
        elif status in PROPOSE_DROP:
            outcome = Outcome.DROPPED
        else:
            outcome = Outcome.CARRIED_OVER
        reason = update.note if update and outcome is Outcome.DROPPED else ""
        out.append(Proposal(m, update, outcome, m.goal.number, reason))
    return out


def structure_text(plan: Plan) -> str:
    """The old plan's fields and goals, one per line ("2.3 Title"), to edit for the new one."""
    fields = db.session.scalars(
        select(Field).where(Field.plan_id == plan.id, Field.archived_at.is_(None))
        .options(selectinload(Field.goals)).order_by(Field.position))
    lines = []
    for f in fields:
        lines.append(f"{f.number} {f.title}")
        lines.extend(f"{g.number} {g.title}" for g in f.goals if g.archived_at is None)
    return "\n".join(lines)


@dataclass
class Outline:
    """The new plan's fields and goals, parsed from the structure text."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    goals: list[tuple[str, str]] = field(default_factory=list)

    @property
    def goal_numbers(self) -> set[str]:
        """The numbers of all goals."""
        return {n for n, _t in self.goals}


def parse_structure(text: str) -> tuple[Outline, list[str]]:
    """Read "1 Title" (field) and "1.2 Title" (goal) lines; problems name the line."""
    outline, errors = Outline(), []
    seen: set[str] = set()
    for number_line, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        number, _sep, title = line.partition(" ")
        number, title = number.rstrip("."), title.strip()
        if not NUMBER_PATTERN.match(number) or number.count(".") > 1:
            errors.append(_("Zeile %(n)d: „%(number)s“ ist keine Nummer eines Handlungsfelds "
                            "(1) oder Ziels (1.2).", n=number_line, number=number[:20]))
        elif not title:
            errors.append(_("Zeile %(n)d: Nach der Nummer %(number)s fehlt der Titel.",
                            n=number_line, number=number))
        elif len(title) > TITLE_LENGTH:
            errors.append(_("Zeile %(n)d: Der Titel ist zu lang (höchstens %(max)d Zeichen).",
                            n=number_line, max=TITLE_LENGTH))
        elif number in seen:
            errors.append(_("Zeile %(n)d: Die Nummer %(number)s kommt zweimal vor.",
                            n=number_line, number=number))
        elif "." in number and number.split(".")[0] not in {n for n, _t in outline.fields}:
            errors.append(_("Zeile %(n)d: Zum Ziel %(number)s fehlt vorher das Handlungsfeld "
                            "%(field)s.", n=number_line, number=number,
                            field=number.split(".")[0]))
        else:
            seen.add(number)
            (outline.goals if "." in number else outline.fields).append((number, title))
    if not outline.fields and not errors:
        errors.append(_("Der neue Plan braucht mindestens ein Handlungsfeld."))
    return outline, errors


def apply_choices(items: list[Proposal], form: Mapping[str, str]) -> None:
    """Take the wizard's posted choices (``outcome-<id>``, ``goal-<id>``, ``reason-<id>``)."""
    for item in items:
        key = item.measure.id
        raw = form.get(f"outcome-{key}", item.outcome.value)
        item.outcome = Outcome(raw) if raw in {o.value for o in Outcome} else item.outcome
        item.goal_number = form.get(f"goal-{key}", item.goal_number).strip()[:20]
        item.reason = form.get(f"reason-{key}", item.reason).strip()[:REASON_MAX + 1]


def check_choices(items: list[Proposal], outline: Outline) -> dict[int, str]:
    """Per measure id, what is wrong with its choice (nothing: an empty dict)."""
    errors: dict[int, str] = {}
    goals = outline.goal_numbers
    for item in items:
        if item.outcome is Outcome.CARRIED_OVER and item.goal_number not in goals:
            errors[item.measure.id] = _(
                "Bitte nennen Sie ein Ziel des neuen Plans (z. B. %(example)s); „%(goal)s“ "
                "gibt es in der neuen Gliederung nicht.",
                example=min(goals, default="1.1"), goal=item.goal_number or "–")
        elif item.outcome is Outcome.DROPPED and not item.reason:
            errors[item.measure.id] = _("Bitte begründen Sie, warum die Maßnahme entfällt; "
                                        "der Grund steht im Abschlussbericht.")
        elif len(item.reason) > REASON_MAX:
            errors[item.measure.id] = _("Die Begründung ist zu lang (höchstens %(max)d "
                                        "Zeichen).", max=REASON_MAX)
    return errors


def default_period(old: Plan) -> tuple[date, date]:
    """From the day after the old plan's end, as long as it ran (whole months, at least 12).

    2020-01-01 … 2025-12-31 ran 72 months, so its successor runs 2026-01-01 … 2031-12-31.
    """
    start = old.valid_to + timedelta(days=1)
    months = max((start.year - old.valid_from.year) * 12 + start.month - old.valid_from.month,
                 12)
    year, month = divmod(start.month - 1 + months, 12)
    end = date(min(start.year + year, 2200), month + 1, 1) - timedelta(days=1)
    return start, max(end, start)


def default_title(old: Plan, start: date, end: date) -> str:
    """The old title with the new period ("… 2020–2025" → "… 2026–2030"), if it names one."""
    years = re.compile(r"\b(19|20)\d{2}\s*[–-]\s*(19|20)\d{2}\b")
    if years.search(old.title):
        return years.sub(f"{start.year}–{end.year}", old.title, count=1)[:TITLE_LENGTH]
    return f"{old.title} – {_('Fortschreibung')}"[:TITLE_LENGTH]


def successor_of(session: AnySession, plan: Plan) -> Plan | None:
    """The plan that continues ``plan``, if one was created."""
    return session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).first()


def can_revise(session: AnySession, plan: Plan) -> str | None:
    """Why ``plan`` cannot be continued now (``None``: it can)."""
    if plan.state is not PlanState.ADOPTED:
        return str(_("Fortschreiben lässt sich nur ein beschlossener Plan."))
    if successor_of(session, plan) is not None:
        return str(_("Dieser Plan hat schon eine Fortschreibung."))
    return None


@dataclass(frozen=True)
class NewPlan:
    """The successor's own data from the wizard's first part."""

    title: str
    valid_from: date
    valid_to: date
    description: str = ""


def create_successor(session: AnySession, old: Plan, new: NewPlan, outline: Outline,
                     items: list[Proposal], user: User) -> Plan:
    """Create the draft successor with its outline and carried-over measures; never commits.

    Carried-over measures are copied (title, texts, lead, partners, target groups,
    timeframe, priority, funding, indicators) into their goal, numbered in the old order,
    and link to their origin; every old measure gets exactly one outcome.
    """
    problem = can_revise(session, old)
    errors = check_choices(items, outline)
    if problem or errors:
        raise RevisionError({"plan": problem} if problem else
                            {str(k): v for k, v in errors.items()})
    plan = Plan(title=new.title, city=old.city, owner_unit=old.owner_unit,
                description=new.description, valid_from=new.valid_from,
                valid_to=new.valid_to, state=PlanState.DRAFT, predecessor=old)
    session.add(plan)
    goals: dict[str, Goal] = {}
    fields: dict[str, Field] = {}
    for position, (number, title) in enumerate(outline.fields):
        fields[number] = Field(number=number, title=title, position=position)
        plan.fields.append(fields[number])
    for number, title in outline.goals:
        parent = fields[number.split(".")[0]]
        goals[number] = Goal(number=number, title=title, position=len(parent.goals))
        parent.goals.append(goals[number])
    for item in items:
        outcome = MeasureOutcome(measure=item.measure, successor_plan=plan,
                                 outcome=item.outcome, reason=item.reason, decided_by=user)
        if item.outcome is Outcome.CARRIED_OVER:
            goal = goals[item.goal_number]
            outcome.successor_measure = _copy(item.measure, goal)
        session.add(outcome)
    session.flush()
    return plan


def _copy(old: Measure, goal: Goal) -> Measure:
    """The measure continued in ``goal`` with the next number there, linked to its origin."""
    measure = Measure(
        number=f"{goal.number}.{len(goal.measures) + 1}", title=old.title,
        description=old.description, lead=old.lead, partners=list(old.partners),
        target_groups=list(old.target_groups), start_date=old.start_date,
        end_date=old.end_date, priority=old.priority, funding_note=old.funding_note,
        budget_eur=old.budget_eur, position=len(goal.measures), origin=old,
        indicators=[Indicator(name=i.name, unit=i.unit, baseline_value=i.baseline_value,
                              baseline_date=i.baseline_date, target_value=i.target_value,
                              target_date=i.target_date, data_source=i.data_source,
                              position=i.position)
                    for i in old.indicators if i.archived_at is None],
    )
    goal.measures.append(measure)
    return measure


def adopt(session: AnySession, plan: Plan, adopted_on: date, paper_ref: str) -> None:
    """Record the council's decision; the predecessor becomes *abgeschlossen* (read-only)."""
    if plan.state is not PlanState.DRAFT:
        raise RevisionError({"plan": _("Der Plan ist bereits beschlossen.")})
    plan.state = PlanState.ADOPTED
    plan.adopted_on = adopted_on
    plan.adoption_paper_ref = paper_ref.strip() or None
    close_predecessor(session, plan)


def close_predecessor(session: AnySession, plan: Plan) -> None:
    """Once ``plan`` is adopted, its predecessor is *abgeschlossen* and its rounds closed.

    Called by :func:`adopt` and by the plan's edit form (which may set the state too).
    """
    old = plan.predecessor
    if plan.state is PlanState.ADOPTED and old is not None and old.state is not \
            PlanState.CLOSED:
        old.state = PlanState.CLOSED
        for rnd in session.scalars(select(UpdateRound).where(
                UpdateRound.plan_id == old.id, UpdateRound.closed_at.is_(None))):
            close_round(session, rnd)
    session.flush()


def outcomes_of(session: AnySession, plan: Plan) -> dict[int, MeasureOutcome]:
    """The decisions on the measures of ``plan``, by measure id."""
    stmt = (select(MeasureOutcome).join(MeasureOutcome.measure).join(Measure.goal)
            .join(Goal.field).where(Field.plan_id == plan.id))
    return {o.measure_id: o for o in session.scalars(stmt)}


@dataclass(frozen=True)
class Lineage:
    """Where a measure came from (with that measure's history) and what became of it."""

    origin: Measure | None
    origin_history: list[StatusUpdate]
    outcome: MeasureOutcome | None


def lineage_of(measure: Measure) -> Lineage:
    """The measure page's links between plans; three queries, none for plain measures."""
    origin = measure.origin
    history = update_history(origin.id) if origin is not None else []
    outcome = db.session.scalars(
        select(MeasureOutcome).where(MeasureOutcome.measure_id == measure.id)).first()
    return Lineage(origin, history, outcome)
