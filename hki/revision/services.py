"""The Fortschreibung as plain functions: a stored draft, its outline, the decisions.

The successor exists as a draft plan from the first step (:func:`start`): the old
outline copied with lineage (``origin_id``), one decision row per old measure, the
carried-over measures copied into the goals that continue theirs. Everything after that
is an ordinary, committed change to the draft, so nothing is lost to a timeout or a
second tab, and another coordinator can continue. Measures live in their goals, so
renaming, renumbering and merging fields and goals carries them along.

Nothing of the old plan is changed: its measures, history and reports stay as they were.
Only the adoption changes its state, to *abgeschlossen*, after which it is read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from hki.auth.models import User
from hki.dashboard.models import MeasureSearch
from hki.db import AnySession, utcnow
from hki.extensions import db
from hki.i18n import ascii_int, datum, parse_day
from hki.plan.models import TITLE_LENGTH, Field, Goal, Indicator, IndicatorValue, Measure, Plan
from hki.plan.services import active, next_free, next_number, next_position
from hki.reports.data import latest_indicator_values
from hki.reports.models import Report, ReportText
from hki.revision.models import (
    CouncilStage,
    MeasureOutcome,
    RevisionProposal,
    RevisionQuery,
    RevisionShare,
)
from hki.transfer.models import DataImport
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


def default_outcome(update: StatusUpdate | None) -> tuple[Outcome, str]:
    """The proposal from the final state: finished measures stay behind, the rest move on.

    A dropped measure's proposed reason is the note of its last update.
    """
    status = update.status if update else None
    if status in PROPOSE_CLOSE:
        return Outcome.CLOSED, ""
    if status in PROPOSE_DROP:
        return Outcome.DROPPED, update.note if update else ""
    return Outcome.CARRIED_OVER, ""


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


def draft_of(session: AnySession, plan: Plan) -> Plan | None:
    """The Fortschreibung of ``plan`` while it is still a draft the wizard works on."""
    successor = successor_of(session, plan)
    return successor if successor is not None and successor.state is PlanState.DRAFT else None


@dataclass(frozen=True)
class NewPlan:
    """The successor's own data from the wizard's first step."""

    title: str
    valid_from: date
    valid_to: date
    description: str = ""


def start(session: AnySession, old: Plan, new: NewPlan, user: User) -> Plan:
    """Store the draft successor at once: outline, one decision per measure, the copies.

    Fields and goals are copied with their numbers and name the old ones they continue;
    each measure gets the decision its final state suggests and, if carried over, a copy
    in the goal that continues its own. Never commits.
    """
    problem = can_revise(session, old)
    if problem:
        raise RevisionError({"plan": problem})
    plan = Plan(title=new.title, city=old.city, owner_unit=old.owner_unit,
                description=new.description, valid_from=new.valid_from,
                valid_to=new.valid_to, state=PlanState.DRAFT, predecessor=old)
    session.add(plan)
    goals: dict[int, Goal] = {}
    for old_field in active(old.fields):
        copy = Field(number=old_field.number, title=old_field.title,
                     description=old_field.description, position=old_field.position,
                     origin_id=old_field.id)
        plan.fields.append(copy)
        for old_goal in active(old_field.goals):
            goals[old_goal.id] = Goal(number=old_goal.number, title=old_goal.title,
                                      description=old_goal.description,
                                      position=old_goal.position, origin_id=old_goal.id)
            copy.goals.append(goals[old_goal.id])
    current = current_updates(old.id)
    values = final_values(old)
    for measure in active_measures(old):
        outcome, reason = default_outcome(current.get(measure.id))
        row = MeasureOutcome(measure=measure, successor_plan=plan, outcome=outcome,
                             reason=reason, decided_by=user)
        if outcome is Outcome.CARRIED_OVER:
            row.successor_measure = _copy(measure, goals[measure.goal_id], values)
        session.add(row)
    session.flush()
    return plan


def final_values(old: Plan) -> dict[int, IndicatorValue]:
    """Each indicator's last value in the old plan's period, as known now (one query)."""
    return latest_indicator_values(old.id, old.valid_to, utcnow())


def _copy(old: Measure, goal: Goal, values: dict[int, IndicatorValue]) -> Measure:
    """The measure continued in ``goal`` with the next number there, linked to its origin.

    Its indicators start from the old plan's last value (dated) where there is one: the
    new plan measures from where the old one ended.
    """
    def baseline(indicator: Indicator) -> tuple[float | None, date | None]:
        value = values.get(indicator.id)
        if value is None:
            return indicator.baseline_value, indicator.baseline_date
        return value.value, value.as_of

    measure = Measure(
        number=next_number(goal), title=old.title,
        description=old.description, lead=old.lead, partners=list(old.partners),
        target_groups=list(old.target_groups), start_date=old.start_date,
        end_date=old.end_date, priority=old.priority, funding_note=old.funding_note,
        budget_eur=old.budget_eur, position=next_position(goal.measures), origin=old,
        indicators=[Indicator(name=i.name, unit=i.unit, baseline_value=baseline(i)[0],
                              baseline_date=baseline(i)[1], target_value=i.target_value,
                              target_date=i.target_date, data_source=i.data_source,
                              position=i.position)
                    for i in old.indicators if i.archived_at is None],
    )
    goal.measures.append(measure)
    return measure


# --- The outline: merging fields and goals of the draft -------------------------------


def _check_draft_nodes(source: Field | Goal, into: Field | Goal, plan: Plan) -> None:
    if plan.state is not PlanState.DRAFT or plan.predecessor_id is None:
        raise RevisionError({"into": _("Zusammenführen geht nur im Entwurf einer "
                                       "Fortschreibung.")})
    if source.id == into.id or source.archived_at or into.archived_at:
        raise RevisionError({"into": _("Bitte wählen Sie ein anderes Element, mit dem "
                                       "zusammengeführt werden soll.")})


def merge_field(session: AnySession, source: Field, into: Field) -> None:
    """Merge a field of the draft into another: its goals, with their measures, move over.

    The goals are numbered on after the target's (5.1 → 2.4, its measures 2.4.1 …); the
    emptied field is archived and remembers where it went, so that measures of the old
    field count as staying in their topic.
    """
    _check_draft_nodes(source, into, into.plan)
    if source.plan_id != into.plan_id:
        raise RevisionError({"into": _("Das Handlungsfeld gehört zu einem anderen Plan.")})
    for goal in active(source.goals):
        goal.number = next_free(into.number, [g.number for g in into.goals
                                              if g.archived_at is None])
        goal.position = next_position(into.goals)
        goal.field = into
        _number_measures(goal)
    source.merged_into_id = into.id
    source.archived_at = utcnow()
    session.flush()


def merge_goal(session: AnySession, source: Goal, into: Goal) -> None:
    """Merge a goal of the draft into another: its measures move over, numbered on."""
    _check_draft_nodes(source, into, into.field.plan)
    if source.field.plan_id != into.field.plan_id:
        raise RevisionError({"into": _("Das Ziel gehört zu einem anderen Plan.")})
    for measure in active(source.measures):
        measure.number = next_number(into)
        measure.position = next_position(into.measures)
        measure.goal = into
    source.merged_into_id = into.id
    source.archived_at = utcnow()
    session.flush()


def _number_measures(goal: Goal) -> None:
    """Give a moved goal's measures numbers under its new number, in their order."""
    for k, measure in enumerate(active(goal.measures), start=1):
        measure.number = f"{goal.number}.{k}"


# --- The mapping: every old measure, its decision and its new place --------------------


@dataclass(frozen=True)
class Row:
    """One old measure in the mapping: final state, decision, and where it lands."""

    measure: Measure
    update: StatusUpdate | None
    decision: MeasureOutcome
    #: The active copy in the draft (carried over only).
    copy: Measure | None
    #: Where the outline's changes put it: the goal that continues its goal.
    default_goal: Goal | None
    #: The draft field that continues the measure's old field.
    default_field: Field | None
    #: The new plan's first day (for :attr:`ends_before_start`).
    new_start: date
    #: The lead office's proposal from the Fortschreibungsabfrage, if it gave one.
    proposal: RevisionProposal | None = None

    @property
    def stamp(self) -> str:
        """Changes whenever the decision or the copy changes: what a form was loaded at."""
        version = self.decision.successor_measure.version if \
            self.decision.successor_measure is not None else 0
        return f"{self.decision.decided_at.isoformat()}/{version}"

    @property
    def against_proposal(self) -> bool:
        """Decided otherwise than the office proposed: worth a word with the office."""
        return self.proposal is not None and self.proposal.outcome is not \
            self.decision.outcome

    @property
    def carried(self) -> bool:
        """Carried over into the new plan."""
        return self.decision.outcome is Outcome.CARRIED_OVER and self.copy is not None

    @property
    def moved(self) -> bool:
        """Placed by hand somewhere other than where the outline puts it."""
        return self.carried and self.copy is not None and (
            self.default_goal is None or self.copy.goal_id != self.default_goal.id)

    @property
    def topic_changed(self) -> bool:
        """In a field that does not continue its old field: worth a second look."""
        return self.carried and self.copy is not None and (
            self.default_field is None or self.copy.goal.field_id != self.default_field.id)

    @property
    def ends_before_start(self) -> bool:
        """Carried over with an end date before the new plan begins: needs a new end."""
        return (self.carried and self.copy is not None and self.copy.end_date is not None
                and self.copy.end_date < self.new_start)

    @property
    def lost_copy(self) -> bool:
        """Decided "übernehmen", but its copy was removed from the draft since."""
        return self.decision.outcome is Outcome.CARRIED_OVER and self.copy is None

    @property
    def homeless(self) -> bool:
        """Carried over into a goal or field that was removed from the draft since."""
        return self.carried and self.copy is not None and (
            self.copy.goal.archived_at is not None
            or self.copy.goal.field.archived_at is not None)


def _homes(nodes: list[Any]) -> dict[int, Any]:
    """Old node id → the active draft node that continues it, following merges."""
    by_id = {n.id: n for n in nodes}
    homes = {}
    for node in nodes:
        if node.origin_id is None:
            continue
        home, seen = node, set()
        while home.archived_at is not None and home.merged_into_id in by_id \
                and home.id not in seen:
            seen.add(home.id)
            home = by_id[home.merged_into_id]
        if home.archived_at is None:
            homes[node.origin_id] = home
    return homes


def mapping(session: AnySession, old: Plan, draft: Plan) -> list[Row]:
    """Every decided measure of the old plan with its new place, in the old order.

    A fixed number of queries whatever the plan's size.
    """
    fields = list(session.scalars(select(Field).where(Field.plan_id == draft.id)))
    goals = list(session.scalars(select(Goal).join(Goal.field)
                                 .where(Field.plan_id == draft.id)))
    field_homes, goal_homes = _homes(fields), _homes(goals)
    decisions = {d.measure_id: d for d in session.scalars(
        select(MeasureOutcome).where(MeasureOutcome.successor_plan_id == draft.id)
        .options(joinedload(MeasureOutcome.successor_measure)))}
    current = current_updates(old.id)
    proposals = {p.measure_id: p for p in session.scalars(
        select(RevisionProposal).where(RevisionProposal.plan_id == draft.id))}
    rows = []
    for measure in _decided_measures(session, list(decisions)):
        decision = decisions[measure.id]
        copy = decision.successor_measure
        rows.append(Row(measure, current.get(measure.id), decision,
                        copy if copy is not None and copy.archived_at is None else None,
                        goal_homes.get(measure.goal_id), field_homes.get(measure.goal.field_id),
                        draft.valid_from, proposals.get(measure.id)))
    return rows


def _decided_measures(session: AnySession, ids: list[int]) -> list[Measure]:
    stmt = (select(Measure).join(Measure.goal).join(Goal.field).where(Measure.id.in_(ids))
            .options(contains_eager(Measure.goal).contains_eager(Goal.field),
                     joinedload(Measure.lead))
            .order_by(Field.position, Goal.position, Measure.position))
    return list(session.scalars(stmt).unique())


def draft_goals(draft: Plan) -> list[Goal]:
    """The draft's active goals in outline order: where a measure can be carried to."""
    return [g for f in active(draft.fields) for g in active(f.goals)]


# --- Decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """What the coordinator chose for one measure in the mapping."""

    outcome: Outcome
    goal: Goal | None
    reason: str
    end_date: date | None


def check_choice(choice: Choice, draft: Plan) -> str | None:
    """What is wrong with a choice (``None``: nothing).

    An end before the new plan's start is no error here: a page of untouched rows saves,
    the row is flagged, and the adoption waits until every such end is changed.
    """
    if choice.outcome is Outcome.CARRIED_OVER and choice.goal is None:
        return str(_("Bitte wählen Sie das Ziel im neuen Plan."))
    if choice.outcome is Outcome.DROPPED and not choice.reason:
        return str(_("Bitte begründen Sie, warum die Maßnahme entfällt; der Grund steht "
                     "im Abschlussbericht."))
    if len(choice.reason) > REASON_MAX:
        return str(_("Die Begründung ist zu lang (höchstens %(max)d Zeichen).",
                     max=REASON_MAX))
    return None


def decide(session: AnySession, row: Row, choice: Choice, user: User) -> bool:
    """Apply a checked choice to the draft; ``True`` if anything changed.

    Carrying over creates the copy, or moves or revives the earlier one (with the next
    free number in its goal); closing or dropping archives the copy. Unchanged choices
    write nothing, so saving a page of 20 rows audits only what was changed.
    """
    decision, changed = row.decision, False
    if (decision.outcome, decision.reason) != (choice.outcome, choice.reason):
        decision.outcome, decision.reason = choice.outcome, choice.reason
        changed = True
    copy = decision.successor_measure
    if choice.outcome is Outcome.CARRIED_OVER and choice.goal is not None:
        if copy is None:
            copy = decision.successor_measure = _copy(row.measure, choice.goal,
                                                      final_values(row.measure.goal.field.plan))
            changed = True
        elif copy.archived_at is not None or copy.goal_id != choice.goal.id:
            copy.number = next_number(choice.goal)
            copy.position = next_position(choice.goal.measures)
            copy.goal, copy.archived_at = choice.goal, None
            changed = True
        if copy.end_date != choice.end_date:
            copy.end_date = choice.end_date
            changed = True
    elif copy is not None and copy.archived_at is None:
        copy.archived_at = utcnow()
        changed = True
    if changed:
        decision.decided_by, decision.decided_at = user, utcnow()
        session.flush()
    return changed


def set_end_dates(session: AnySession, rows: list[Row], day: date) -> int:
    """Give every carried-over measure that ends before the new plan's start a new end."""
    count = 0
    for row in rows:
        if row.ends_before_start and row.copy is not None:
            row.copy.end_date = day
            count += 1
    session.flush()
    return count


def open_points(rows: list[Row]) -> list[Row]:
    """Measures the draft cannot be adopted with: old end, no goal, or a lost copy."""
    return [r for r in rows if r.ends_before_start or r.homeless or r.lost_copy]


def undecided(session: AnySession, old: Plan, draft: Plan) -> list[Measure]:
    """Active measures of the old plan the draft has no decision for (added later)."""
    decided = set(session.scalars(select(MeasureOutcome.measure_id).where(
        MeasureOutcome.successor_plan_id == draft.id)))
    return [m for m in active_measures(old) if m.id not in decided]


def add_missing_decisions(session: AnySession, old: Plan, draft: Plan, user: User) -> int:
    """Decide by default on measures added to the old plan after the draft was begun.

    The draft follows the old plan: a measure added there later gets the decision its
    status suggests (and a copy, in the goal continuing its own, if there is one; else
    it is carried over without a place and shows as an open point). Never commits.
    """
    missing = undecided(session, old, draft)
    if not missing:
        return 0
    goals = {g.origin_id: g for g in draft_goals(draft) if g.origin_id is not None}
    current = current_updates(old.id)
    values = final_values(old)
    for measure in missing:
        outcome, reason = default_outcome(current.get(measure.id))
        row = MeasureOutcome(measure=measure, successor_plan=draft, outcome=outcome,
                             reason=reason, decided_by=user)
        goal = goals.get(measure.goal_id)
        if outcome is Outcome.CARRIED_OVER and goal is not None:
            row.successor_measure = _copy(measure, goal, values)
        session.add(row)
    session.flush()
    return len(missing)


def discard(session: AnySession, draft: Plan) -> None:
    """Delete a Fortschreibung's draft with its decisions; the old plan is as before.

    Only a draft nobody has reported on: rounds, reports and imports have their own
    records that must not lose their plan.
    """
    if draft.state is not PlanState.DRAFT or draft.predecessor_id is None:
        raise RevisionError({"plan": _("Verwerfen lässt sich nur der Entwurf einer "
                                       "Fortschreibung.")})
    updates = session.scalar(select(func.count()).select_from(StatusUpdate).join(
        Measure, Measure.id == StatusUpdate.measure_id).join(Measure.goal).join(Goal.field)
        .where(Field.plan_id == draft.id))
    if updates or any(session.scalar(select(func.count()).select_from(model).where(
            model.plan_id == draft.id)) for model in (UpdateRound, Report, DataImport)):
        raise RevisionError({"plan": _(
            "Zu diesem Entwurf gibt es schon Sachstände, Abfragen, Berichte oder Importe; "
            "er lässt sich deshalb nicht mehr verwerfen.")})
    for decision in session.scalars(select(MeasureOutcome).where(
            MeasureOutcome.successor_plan_id == draft.id)):
        session.delete(decision)
    measure_ids = select(Measure.id).join(Measure.goal).join(Goal.field).where(
        Field.plan_id == draft.id)
    session.execute(delete(MeasureSearch).where(MeasureSearch.measure_id.in_(measure_ids)))
    session.execute(delete(ReportText).where(ReportText.plan_id == draft.id))
    for part in (CouncilStage, RevisionProposal, RevisionQuery, RevisionShare):
        for row in session.scalars(select(part).where(part.plan_id == draft.id)):
            session.delete(row)
    session.execute(update(Goal).where(Goal.field_id.in_(
        select(Field.id).where(Field.plan_id == draft.id))).values(merged_into_id=None))
    session.execute(update(Field).where(Field.plan_id == draft.id).values(merged_into_id=None))
    session.flush()
    session.delete(draft)
    session.flush()


def adopt(session: AnySession, plan: Plan, adopted_on: date, paper_ref: str) -> None:
    """Record the council's decision; the predecessor becomes *abgeschlossen* (read-only)."""
    if plan.state is not PlanState.DRAFT:
        raise RevisionError({"plan": _("Der Plan ist bereits beschlossen.")})
    if plan.predecessor is not None and (
            open_points(mapping(session, plan.predecessor, plan))
            or undecided(session, plan.predecessor, plan)):
        raise RevisionError({"plan": _(
            "Einige übernommene Maßnahmen enden vor dem Beginn des neuen Plans oder haben "
            "kein Ziel mehr; bitte prüfen Sie sie in der Fortschreibung.")})
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


@dataclass(frozen=True)
class Shown:
    """A row's values as the decision form shows them: stored, or as posted with errors."""

    outcome: str
    goal_id: int | None
    reason: str
    end: str


def shown(row: Row) -> Shown:
    """The stored decision as the form shows it."""
    goal = row.copy.goal_id if row.copy is not None else (
        row.default_goal.id if row.default_goal is not None else None)
    end = row.copy.end_date if row.copy is not None else row.measure.end_date
    return Shown(row.decision.outcome.value, goal, row.decision.reason,
                 datum(end) if end else "")


def read_choices(rows: list[Row], form: Mapping[str, str], draft: Plan
                 ) -> tuple[dict[int, Choice], dict[int, str], dict[int, Shown]]:
    """The posted choices per measure id (``outcome-``, ``goal-``, ``reason-``, ``end-<id>``).

    Returns the choices, the errors and what to show again; a row missing from the post
    keeps its stored decision.
    """
    goals = {g.id: g for g in draft_goals(draft)}
    outcomes = {o.value: o for o in Outcome}
    choices, errors, posted = {}, {}, {}
    for row in rows:
        key = row.measure.id
        if f"outcome-{key}" not in form:
            continue
        stored = shown(row)
        outcome = outcomes.get(form.get(f"outcome-{key}", ""), row.decision.outcome)
        goal_text = form.get(f"goal-{key}", "")
        goal = goals.get(ascii_int(goal_text) or 0)
        reason = form.get(f"reason-{key}", "").strip()[:REASON_MAX + 1]
        end_text = form.get(f"end-{key}", stored.end).strip()[:20]
        end = parse_day(end_text)
        posted[key] = Shown(outcome.value, goal.id if goal else None, reason, end_text)
        choice = Choice(outcome, goal, reason, end)
        problem = check_choice(choice, draft)
        if end_text and end is None and outcome is Outcome.CARRIED_OVER:
            problem = str(_("Bitte geben Sie das Ende als Datum an (TT.MM.JJJJ), oder "
                            "lassen Sie das Feld leer."))
        seen = form.get(f"seen-{key}")
        if seen and seen != row.stamp and posted[key] != stored:
            # Someone saved this row since the page was loaded (another tab or colleague).
            problem = str(_(
                "%(who)s hat diese Maßnahme inzwischen geändert (jetzt: %(now)s). Ihre "
                "Eingabe steht noch im Formular; speichern Sie erneut, um sie zu übernehmen.",
                who=row.decision.decided_by.display_name, now=row.decision.outcome.label))
        if problem:
            errors[key] = problem
        choices[key] = choice
    return choices, errors, posted


def plan_of_node(node: Field | Goal) -> Plan:
    """The plan a field or goal belongs to."""
    return node.plan if isinstance(node, Field) else node.field.plan


@dataclass(frozen=True)
class OutlineNode:
    """A field or goal of the draft with the old ones it continues ("bisher …")."""

    node: Field | Goal
    was: list[str]
    measures: int


def outline_of(session: AnySession, draft: Plan) -> list[tuple[OutlineNode, list[OutlineNode]]]:
    """The draft's fields with their goals, each with its lineage and measure count."""
    fields = list(session.scalars(select(Field).where(Field.plan_id == draft.id)
                                  .options(selectinload(Field.goals)
                                           .selectinload(Goal.measures))))
    goals = [g for f in fields for g in f.goals]
    old_ids = [f.origin_id for f in fields if f.origin_id is not None] + [
        g.origin_id for g in goals if g.origin_id is not None]
    old_fields = {f.id: f for f in session.scalars(select(Field).where(Field.id.in_(old_ids)))}
    old_goals = {g.id: g for g in session.scalars(select(Goal).where(Goal.id.in_(old_ids)))}

    def was(node: Field | Goal, nodes: list[Any], olds: dict[int, Any]) -> list[str]:
        by_home: list[Any] = [n for n in nodes if n is node or n.merged_into_id == node.id]
        names = [f"{olds[n.origin_id].number} {olds[n.origin_id].title}" for n in by_home
                 if n.origin_id in olds]
        return names + [name for n in by_home if n is not node for name in was(n, nodes, olds)
                        if name not in names]

    out = []
    for f in active(fields):
        children = [OutlineNode(g, was(g, goals, old_goals),
                                sum(m.archived_at is None for m in g.measures))
                    for g in active(f.goals)]
        out.append((OutlineNode(f, was(f, fields, old_fields), sum(c.measures for c in children)),
                    children))
    return out


def old_fields(rows: list[Row]) -> list[tuple[int, str, int, int]]:
    """The old plan's fields in the mapping: id, "1 Title", measures, open points."""
    out: dict[int, tuple[int, str, int, int]] = {}
    for row in rows:
        f = row.measure.goal.field
        _id, label, count, open_count = out.get(f.id, (f.id, f"{f.number} {f.title}", 0, 0))
        out[f.id] = (f.id, label, count + 1,
                     open_count + (row.ends_before_start or row.homeless))
    return list(out.values())


#: The mapping's hint filters: name in the address → test.
HINTS: dict[str, Any] = {
    "verschoben": lambda r: r.moved,
    "thema": lambda r: r.topic_changed,
    "ende": lambda r: r.ends_before_start,
    "ohne-ziel": lambda r: r.homeless,
    "vorschlag": lambda r: r.against_proposal,
}


@dataclass(frozen=True)
class MappingView:
    """How the mapping is sorted and filtered, from the address (``?sortierung=neu``)."""

    sort: str = "alt"
    outcome: str = ""
    hint: str = ""
    field_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> MappingView:
        """Read the address; anything unknown counts as not given."""
        sort = args.get("sortierung", "alt")
        outcome = args.get("entscheidung", "")
        hint = args.get("hinweis", "")
        field_text = args.get("feld", "")
        return cls(sort if sort in {"alt", "neu", "entscheidung"} else "alt",
                   outcome if outcome in {o.value for o in Outcome} else "",
                   hint if hint in HINTS else "",
                   ascii_int(field_text))

    def apply(self, rows: list[Row]) -> list[Row]:
        """The rows shown, in the chosen order."""
        shown_rows = [r for r in rows
                      if (not self.outcome or r.decision.outcome.value == self.outcome)
                      and (not self.hint or HINTS[self.hint](r))
                      and (self.field_id is None or r.measure.goal.field_id == self.field_id)]
        if self.sort == "neu":
            return sorted(shown_rows, key=lambda r: (r.copy is None, _number_key(
                r.copy.number if r.copy else "")))
        if self.sort == "entscheidung":
            order = list(Outcome)
            return sorted(shown_rows, key=lambda r: order.index(r.decision.outcome))
        return shown_rows


def _number_key(number: str) -> tuple[int, ...]:
    """Numbers compare part by part: 2.10.1 comes after 2.9.3."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))


# --- The council: stages and the annex of the Vorlage ------------------------------------


def stages_of(session: AnySession, plan: Plan) -> list[CouncilStage]:
    """The plan's way through the council, by meeting day."""
    return list(session.scalars(select(CouncilStage).where(CouncilStage.plan_id == plan.id)
                                .order_by(CouncilStage.meeting_on, CouncilStage.id)))


def add_stage(session: AnySession, plan: Plan, user: User, *, body: str, purpose: str,
              meeting_on: date, paper_ref: str = "", result: str = "") -> CouncilStage:
    """Record one committee meeting on the plan."""
    stage = CouncilStage(plan=plan, body=body.strip(), purpose=purpose.strip(),
                         meeting_on=meeting_on, paper_ref=paper_ref.strip(),
                         result=result.strip(), recorded_by=user)
    session.add(stage)
    session.flush()
    return stage


#: The annex's columns: header and width (characters).
ANNEX_COLUMNS = [("Nr. bisher", 10), ("Maßnahme", 48), ("Federführung", 28),
                 ("Letzter Stand", 18), ("Entscheidung", 18), ("Begründung", 40),
                 ("Nr. neu", 10), ("Ziel im neuen Plan", 36), ("Ende neu", 12),
                 ("Budget (EUR)", 14)]


def annex_rows(rows: list[Row]) -> list[list[Any]]:
    """Old → new for the council's Vorlage: one line per measure of the old plan."""
    out: list[list[Any]] = []
    for row in rows:
        copy = row.copy
        status = str(row.update.status.label if row.update else _("ohne Sachstand"))
        if row.update is not None and row.update.progress is not None:
            status += f", {row.update.progress} %"
        out.append([
            row.measure.number, row.measure.title, row.measure.lead.name, status,
            str(row.decision.outcome.label), row.decision.reason,
            copy.number if copy else "", f"{copy.goal.number} {copy.goal.title}" if copy else "",
            copy.end_date if copy else None,
            (copy.budget_eur if copy else row.measure.budget_eur),
        ])
    return out
