"""Pages for keeping the plan (coordinators and admins): create, edit, move, archive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from hki.extensions import db
from hki.plan import services
from hki.plan.forms import (
    FieldForm,
    GoalForm,
    IndicatorForm,
    MeasureForm,
    MoveForm,
    PlanForm,
    RenumberForm,
    VersionedForm,
    taken_numbers,
)
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan
from hki.revision.services import close_predecessor, mapping, open_points
from hki.security import Action, requires
from hki.submissions import once
from hki.vocab import PlanState, Priority

bp = Blueprint("edit", __name__)

ARCHIVABLE: dict[str, type[Field] | type[Goal] | type[Measure] | type[Indicator]] = {
    "handlungsfeld": Field, "ziel": Goal, "massnahme": Measure, "indikator": Indicator,
}


def _plan_of(node: Plan | Field | Goal | Measure | Indicator) -> Plan:
    if isinstance(node, Indicator):
        node = node.measure
    if isinstance(node, Measure):
        node = node.goal
    if isinstance(node, Goal):
        node = node.field
    return node.plan if isinstance(node, Field) else node


def _back(node: Plan | Field | Goal | Measure | Indicator) -> str:
    """Where to go after saving: the measure page, or the plan overview at the node."""
    if isinstance(node, Indicator):
        return url_for("plan.measure", measure_id=node.measure_id)
    if isinstance(node, Measure):
        return url_for("plan.measure", measure_id=node.id)
    anchor = {Field: "feld-", Goal: "ziel-"}.get(type(node))
    plan = _plan_of(node)
    if isinstance(node, Field | Goal) and plan.state is PlanState.DRAFT \
            and plan.predecessor_id is not None:  # the outline of a Fortschreibung
        return url_for("revision.wizard", plan_id=plan.predecessor_id) + "#gliederung"
    suffix = f"#{anchor}{node.number}" if anchor and isinstance(node, Field | Goal) else ""
    return url_for("plan.overview", plan_id=plan.id) + suffix


def _editable(plan: Plan) -> None:
    """A closed plan is a record: it can no longer be changed."""
    if plan.state is PlanState.CLOSED:
        flash(_("Dieser Plan ist abgeschlossen und kann nicht mehr geändert werden."), "error")
        abort(403)


def _save(
    form: VersionedForm,
    node: Any,
    heading: str,
    save: Callable[[], Any],
    **context: Any,
) -> ResponseReturnValue:
    """Validate, save once, and turn a concurrent change into a message, never a loss."""
    conflict = None
    if form.validate_on_submit():
        try:
            saved = save()
            db.session.commit()
        except services.EditConflictError as error:
            db.session.rollback()
            conflict = error.changes
        except StaleDataError:
            db.session.rollback()
            try:
                services.update_node(db.session, node, {}, form.loaded_version())
            except services.EditConflictError as error:
                conflict = error.changes
            db.session.rollback()
        else:
            flash(_("Gespeichert."), "success")
            return redirect(_back(saved))
        if conflict is not None:
            db.session.refresh(node)
            form.version.data = str(node.version)
    elif request.method == "GET" and node is not None:
        form.version.data = str(node.version)
    context.setdefault("archive_kind", None)
    return render_template("plan/edit.html", form=form, node=node, heading=heading,
                           conflict=conflict, back=_back(node) if node else None, **context)


def _measure_input(form: MeasureForm) -> dict[str, Any]:
    organisations = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_([form.lead_organisation_id.data, *(form.partner_ids.data or [])])))}
    return services.MeasureInput(
        number=form.number.data or "", title=(form.title.data or "").strip(),
        description=form.description.data or "",
        lead=organisations[form.lead_organisation_id.data],
        partners=[organisations[i] for i in dict.fromkeys(form.partner_ids.data or [])],
        target_groups=services.target_groups_named(db.session, form.target_group_names()),
        start_date=cast(date, form.start_date.data),  # DataRequired: set when valid
        end_date=form.end_date.data,
        priority=Priority(form.priority.data), funding_note=form.funding_note.data or "",
        budget_eur=form.budget_eur.data,
    ).values()


def _node_values(form: FieldForm | GoalForm) -> dict[str, Any]:
    return {"number": form.number.data, "title": (form.title.data or "").strip(),
            "description": form.description.data or ""}


def _indicator_values(form: IndicatorForm) -> dict[str, Any]:
    return {name: getattr(form, name).data if getattr(form, name).data is not None else None
            for name in ("name", "unit", "baseline_value", "baseline_date", "target_value",
                         "target_date", "data_source")} | {
        "unit": form.unit.data or "", "data_source": form.data_source.data or ""}


def _plan_values(form: PlanForm) -> dict[str, Any]:
    return {"title": form.title.data, "city": form.city.data,
            "owner_unit": form.owner_unit.data or "", "description": form.description.data or "",
            "valid_from": form.valid_from.data, "valid_to": form.valid_to.data,
            "state": PlanState(form.state.data), "adopted_on": form.adopted_on.data,
            "adoption_paper_ref": form.adoption_paper_ref.data or None}


# --- Plans -----------------------------------------------------------------------------


@bp.route("/plaene/neu", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
@once
def new_plan() -> ResponseReturnValue:
    """Start a new plan (as a draft)."""
    form = PlanForm()
    if request.method == "GET":
        form.state.data = PlanState.DRAFT.value

    def save() -> Plan:
        plan = Plan(**_plan_values(form))
        db.session.add(plan)
        db.session.flush()
        return plan

    return _save(form, None, _("Neues Handlungskonzept"), save)


@bp.route("/plaene/<int:plan_id>/bearbeiten", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def edit_plan(plan_id: int) -> ResponseReturnValue:
    """Edit the plan's own data."""
    plan = db.get_or_404(Plan, plan_id)
    _editable(plan)
    form = PlanForm(obj=plan)
    if request.method == "GET":
        form.state.data = plan.state.value
    elif form.state.data == PlanState.ADOPTED.value and plan.state is PlanState.DRAFT \
            and plan.predecessor is not None and open_points(
                mapping(db.session, plan.predecessor, plan)):
        flash(_("Einige übernommene Maßnahmen enden vor dem Beginn des neuen Plans oder "
                "haben kein Ziel mehr; bitte prüfen Sie sie in der Fortschreibung."), "error")
        return redirect(url_for("revision.wizard", plan_id=plan.predecessor.id)
                        + "#beschluss")

    def save() -> Plan:
        services.update_node(db.session, plan, _plan_values(form), form.loaded_version())
        close_predecessor(db.session, plan)  # adopting a successor closes the old plan
        return plan

    return _save(form, plan, _("Handlungskonzept bearbeiten"), save)


@bp.route("/plaene/<int:plan_id>/nummerierung", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def renumber(plan_id: int) -> ResponseReturnValue:
    """Preview new numbers in page order; apply them only as previewed."""
    plan = db.get_or_404(Plan, plan_id)
    _editable(plan)
    changes = services.renumbering(plan)
    fingerprint = services.renumbering_fingerprint(changes)
    form = RenumberForm()
    if form.validate_on_submit() and changes:
        if form.fingerprint.data == fingerprint:
            services.renumber(db.session, changes)
            db.session.commit()
            flash(_("Die Nummerierung wurde neu vergeben (%(n)s Änderungen).", n=len(changes)),
                  "success")
            return redirect(_back(plan.fields[0]) if plan.fields else
                            url_for("plan.overview", plan_id=plan.id))
        flash(_("Der Plan wurde inzwischen geändert. Bitte prüfen Sie die neue Vorschau und "
                "bestätigen Sie erneut."), "error")
    form.fingerprint.data = fingerprint
    return render_template("plan/renumber.html", plan=plan, changes=changes, form=form)


# --- Fields and goals ------------------------------------------------------------------


@bp.route("/plaene/<int:plan_id>/handlungsfelder/neu", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
@once
def new_field(plan_id: int) -> ResponseReturnValue:
    """Add a field of action."""
    plan = db.get_or_404(Plan, plan_id)
    _editable(plan)
    form = FieldForm(taken=taken_numbers(Field, plan.id))
    return _save(form, None, _("Neues Handlungsfeld"),
                 lambda: services.add_field(db.session, plan, _node_values(form)), plan=plan)


@bp.route("/handlungsfelder/<int:field_id>/bearbeiten", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def edit_field(field_id: int) -> ResponseReturnValue:
    """Edit a field of action."""
    field = db.get_or_404(Field, field_id)
    _editable(field.plan)
    form = FieldForm(obj=field, taken=taken_numbers(Field, field.plan_id), own_id=field.id)
    return _save(form, field, _("Handlungsfeld bearbeiten"),
                 lambda: services.update_node(db.session, field, _node_values(form),
                                              form.loaded_version()),
                 archive_kind="handlungsfeld")


@bp.route("/handlungsfelder/<int:field_id>/ziele/neu", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
@once
def new_goal(field_id: int) -> ResponseReturnValue:
    """Add a goal to a field."""
    field = db.get_or_404(Field, field_id)
    _editable(field.plan)
    form = GoalForm(parent_number=field.number, taken=taken_numbers(Goal, field.id))
    return _save(form, None, _("Neues Ziel in %(field)s", field=field.number),
                 lambda: services.add_goal(db.session, field, _node_values(form)))


@bp.route("/ziele/<int:goal_id>/bearbeiten", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def edit_goal(goal_id: int) -> ResponseReturnValue:
    """Edit a goal."""
    goal = db.get_or_404(Goal, goal_id)
    _editable(goal.field.plan)
    form = GoalForm(obj=goal, parent_number=goal.field.number,
                    taken=taken_numbers(Goal, goal.field_id), own_id=goal.id)
    return _save(form, goal, _("Ziel bearbeiten"),
                 lambda: services.update_node(db.session, goal, _node_values(form),
                                              form.loaded_version()),
                 archive_kind="ziel")


# --- Measures --------------------------------------------------------------------------


@bp.route("/ziele/<int:goal_id>/massnahmen/neu", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
@once
def new_measure(goal_id: int) -> ResponseReturnValue:
    """Add a measure to a goal."""
    goal = db.get_or_404(Goal, goal_id)
    _editable(goal.field.plan)
    form = MeasureForm(parent_number=goal.number, taken=taken_numbers(Measure, goal.id))
    if request.method == "GET":
        form.number.data = services.next_number(goal)
        form.priority.data = Priority.MEDIUM.value
    return _save(form, None, _("Neue Maßnahme in %(goal)s", goal=goal.number),
                 lambda: services.add_measure(db.session, goal, _measure_input(form)))


@bp.route("/massnahmen/<int:measure_id>/bearbeiten", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def edit_measure(measure_id: int) -> ResponseReturnValue:
    """Edit a measure; a concurrent save by someone else is shown, nothing is lost."""
    measure = db.get_or_404(Measure, measure_id)
    _editable(measure.goal.field.plan)
    form = MeasureForm(
        obj=measure, parent_number=measure.goal.number,
        taken=taken_numbers(Measure, measure.goal_id), own_id=measure.id,
        current_lead_id=measure.lead_organisation_id,
        current_partner_ids=tuple(p.id for p in measure.partners),
    )
    if request.method == "GET":
        form.partner_ids.data = [p.id for p in measure.partners]
        form.target_groups.data = ", ".join(t.name for t in measure.target_groups)
        form.priority.data = measure.priority.value
    return _save(form, measure, _("Maßnahme bearbeiten"),
                 lambda: services.update_node(db.session, measure, _measure_input(form),
                                              form.loaded_version()),
                 archive_kind="massnahme")


@bp.route("/massnahmen/<int:measure_id>/umhaengen", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def move_measure(measure_id: int) -> ResponseReturnValue:
    """Move a measure to another goal of the same plan (it gets the next free number)."""
    measure = db.get_or_404(Measure, measure_id)
    plan = measure.goal.field.plan
    _editable(plan)
    goals = [g for f in plan.fields if f.archived_at is None for g in f.goals
             if g.archived_at is None and g.id != measure.goal_id]
    form = MoveForm()
    form.goal_id.choices = [(g.id, f"{g.number} {g.title}") for g in goals]
    if form.validate_on_submit():
        goal = next(g for g in goals if g.id == form.goal_id.data)
        old = measure.number
        try:
            services.move_measure(db.session, measure, goal, measure.version)
            db.session.commit()
        except (services.EditConflictError, StaleDataError):
            db.session.rollback()
            flash(_("Die Maßnahme wurde gerade von jemand anderem geändert. Bitte versuchen "
                    "Sie es noch einmal."), "error")
        else:
            flash(_("Die Maßnahme %(old)s heißt jetzt %(new)s.", old=old, new=measure.number),
                  "success")
            return redirect(url_for("plan.measure", measure_id=measure.id))
    previews = {g.id: services.next_number(g) for g in goals}
    return render_template("plan/move.html", form=form, m=measure, goals=goals,
                           previews=previews)


# --- Indicators ------------------------------------------------------------------------


@bp.route("/massnahmen/<int:measure_id>/indikatoren/neu", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
@once
def new_indicator(measure_id: int) -> ResponseReturnValue:
    """Add an indicator to a measure."""
    measure = db.get_or_404(Measure, measure_id)
    _editable(measure.goal.field.plan)
    form = IndicatorForm()
    return _save(form, None, _("Neuer Indikator für %(number)s", number=measure.number),
                 lambda: services.add_indicator(db.session, measure, _indicator_values(form)))


@bp.route("/indikatoren/<int:indicator_id>/bearbeiten", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def edit_indicator(indicator_id: int) -> ResponseReturnValue:
    """Edit an indicator."""
    indicator = db.get_or_404(Indicator, indicator_id)
    _editable(indicator.measure.goal.field.plan)
    form = IndicatorForm(obj=indicator)
    return _save(form, indicator, _("Indikator bearbeiten"),
                 lambda: services.update_node(db.session, indicator, _indicator_values(form),
                                              form.loaded_version()),
                 archive_kind="indikator")


# --- Archive and reorder ---------------------------------------------------------------


def _load(kind: str, node_id: int) -> Field | Goal | Measure | Indicator:
    model = ARCHIVABLE.get(kind)
    if model is None:
        abort(404)
    node = db.get_or_404(model, node_id)
    _editable(_plan_of(node))
    return node


@bp.post("/archivieren/<kind>/<int:node_id>")
@requires(Action.EDIT_PLAN)
def archive(kind: str, node_id: int) -> ResponseReturnValue:
    """Archive a field, goal, measure or indicator (nothing is ever deleted)."""
    node = _load(kind, node_id)
    services.archive(db.session, node)
    db.session.commit()
    flash(_("Archiviert. In Berichten für frühere Stichtage erscheint es weiterhin."),
          "success")
    if isinstance(node, Indicator):
        return redirect(_back(node))
    return redirect(url_for("plan.overview", plan_id=_plan_of(node).id))


@bp.post("/verschieben/<kind>/<int:node_id>/<direction>")
@requires(Action.EDIT_PLAN)
def shift(kind: str, node_id: int, direction: str) -> ResponseReturnValue:
    """Move a field, goal or measure one place up or down among its siblings."""
    node = _load(kind, node_id)
    if direction not in ("hoch", "runter") or isinstance(node, Indicator):
        abort(404)
    siblings = (node.plan.fields if isinstance(node, Field)
                else node.field.goals if isinstance(node, Goal) else node.goal.measures)
    services.shift(db.session, node, list(siblings), -1 if direction == "hoch" else 1)
    db.session.commit()
    return redirect(_back(node) if not isinstance(node, Measure)
                    else url_for("plan.overview", plan_id=_plan_of(node).id)
                    + f"#ziel-{node.goal.number}")
