"""Pages of the Fortschreibung: the wizard, the adoption, the Abschlussbericht preview."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from hki.auth.models import User
from hki.db import utcnow
from hki.extensions import db
from hki.i18n import ascii_int, datum, local_today
from hki.plan.models import Field, Goal, Plan
from hki.plan.services import renumbering
from hki.reports import jobs
from hki.reports.narrative import draft_narrative
from hki.reports.render import pdf_from_html
from hki.revision import final, participation, services
from hki.revision.forms import (
    AdoptionForm,
    EndDateForm,
    MergeForm,
    QueryForm,
    RevisionForm,
    ShareForm,
    StageForm,
)
from hki.revision.models import CouncilStage, RevisionShare
from hki.security import Action, authorize, requires
from hki.submissions import claim, once, submission_field
from hki.transfer.views import download, file_name, tables_file
from hki.transfer.writing import Table
from hki.updates import notifications
from hki.vocab import Outcome, PlanState, ReportKind

bp = Blueprint("revision", __name__)


def _old_and_draft(plan_id: int, *, adopted_too: bool = False) -> tuple[Plan, Plan]:
    """The plan being continued and its stored draft; 404 if there is no draft.

    ``adopted_too``: also the adopted successor, for the pages that stay readable (the
    mapping and the council annex).
    """
    old = db.get_or_404(Plan, plan_id)
    draft = (services.successor_of(db.session, old) if adopted_too
             else services.draft_of(db.session, old))
    if draft is None:
        abort(404)
    return old, draft


@bp.route("/plaene/<int:plan_id>/fortschreibung", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def wizard(plan_id: int) -> ResponseReturnValue:
    """The Fortschreibung: its first step stores the draft; then its overview."""
    old = db.get_or_404(Plan, plan_id)
    draft = services.draft_of(db.session, old)
    if draft is not None:  # a start sent twice lands here too
        if request.method == "POST":
            return redirect(url_for("revision.wizard", plan_id=old.id))
        return _hub(old, draft)
    successor = services.successor_of(db.session, old)
    problem = (_("Die Fortschreibung „%(title)s“ ist beschlossen.", title=successor.title)
               if successor is not None else services.can_revise(db.session, old))
    if problem:
        return render_template("revision/blocked.html", plan=old, problem=problem,
                               successor=successor), 409
    form = RevisionForm()
    if request.method == "GET":
        form.valid_from.data, form.valid_to.data = services.default_period(old)
        form.title.data = services.default_title(old, form.valid_from.data,
                                                 form.valid_to.data)
    elif form.validate_on_submit():
        new = services.NewPlan(title=(form.title.data or "").strip(),
                               valid_from=form.valid_from.data,  # type: ignore[arg-type]
                               valid_to=form.valid_to.data,  # type: ignore[arg-type]
                               description=(form.description.data or "").strip())
        try:
            services.start(db.session, old, new, cast(User, current_user))
            db.session.commit()
        except IntegrityError:  # a second click or tab created it at the same moment
            db.session.rollback()
        else:
            flash(_("Der Entwurf „%(title)s“ ist angelegt und gespeichert. Sie können "
                    "jederzeit hier weiterarbeiten.", title=new.title), "success")
        return redirect(url_for("revision.wizard", plan_id=old.id))
    return render_template("revision/start.html", plan=old, form=form), (
        422 if request.method == "POST" else 200)


def _follow_old_plan(old: Plan, draft: Plan) -> None:
    """Measures added to the old plan since the draft began get their default decision."""
    try:
        if services.add_missing_decisions(db.session, old, draft, cast(User, current_user)):
            db.session.commit()
    except IntegrityError:  # a colleague's page did it at the same moment
        db.session.rollback()


def _hub(old: Plan, draft: Plan) -> ResponseReturnValue:
    _follow_old_plan(old, draft)
    rows = services.mapping(db.session, old, draft)
    merge = MergeForm()
    return render_template(
        "revision/draft.html", plan=old, draft=draft, rows=rows,
        outline=services.outline_of(db.session, draft), merge=merge,
        fields=services.old_fields(rows), open_points=services.open_points(rows),
        end_form=EndDateForm(end_date=draft.valid_to), outcomes=list(Outcome),
        stages=services.stages_of(db.session, draft), stage_form=StageForm(),
        query=participation.query_of(db.session, draft), query_form=QueryForm(),
        shares=participation.shares_of(db.session, draft), share_form=ShareForm(),
        today=local_today(), renumbering=len(renumbering(draft)))


@bp.route("/plaene/<int:plan_id>/fortschreibung/massnahmen/<int:field_id>",
          methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def decisions(plan_id: int, field_id: int) -> ResponseReturnValue:
    """Decide on the measures of one old field; each page is saved on its own."""
    old, draft = _old_and_draft(plan_id)
    _follow_old_plan(old, draft)
    rows = services.mapping(db.session, old, draft)
    fields = services.old_fields(rows)
    here = [r for r in rows if r.measure.goal.field_id == field_id]
    if not here:
        abort(404)
    errors: dict[int, str] = {}
    posted: dict[int, services.Shown] = {}
    if request.method == "POST" and FlaskForm().validate_on_submit():
        choices, errors, posted = services.read_choices(here, request.form, draft)
        if not errors:
            user = cast(User, current_user)
            changed = sum(services.decide(db.session, row, choices[row.measure.id], user)
                          for row in here if row.measure.id in choices)
            db.session.commit()
            flash(ngettext("Gespeichert: %(num)d Maßnahme geändert.",
                           "Gespeichert: %(num)d Maßnahmen geändert.", changed), "success")
            after = [f for f in fields if f[0] == field_id]
            following = fields[fields.index(after[0]) + 1:] if after else []
            if request.form.get("next") and following:
                return redirect(url_for("revision.decisions", plan_id=plan_id,
                                        field_id=following[0][0]))
            return redirect(url_for("revision.wizard", plan_id=plan_id) + "#massnahmen")
    values = {r.measure.id: posted.get(r.measure.id) or services.shown(r) for r in here}
    return render_template(
        "revision/decisions.html", plan=old, draft=draft, rows=here, values=values,
        errors=errors, fields=fields, field_id=field_id, goals=services.draft_goals(draft),
        outcomes=list(Outcome)), 422 if errors else 200


@bp.route("/plaene/<int:plan_id>/fortschreibung/zuordnung")
@requires(Action.EDIT_PLAN)
def mapping(plan_id: int) -> ResponseReturnValue:
    """Every old measure → its decision and new place, sortable and filterable."""
    old, draft = _old_and_draft(plan_id, adopted_too=True)
    rows = services.mapping(db.session, old, draft)
    view = services.MappingView.from_args(request.args)
    return render_template("revision/mapping.html", plan=old, draft=draft,
                           rows=view.apply(rows), total=len(rows), view=view,
                           fields=services.old_fields(rows), outcomes=list(Outcome))


@bp.route("/plaene/<int:plan_id>/fortschreibung/zusammenfuehren", methods=["POST"])
@requires(Action.EDIT_PLAN)
def merge(plan_id: int) -> ResponseReturnValue:
    """Merge a field or goal of the draft into another; measures move with it."""
    _old, draft = _old_and_draft(plan_id)
    form = MergeForm()
    valid = form.validate()
    source = _node(form.kind.data, form.source.data) if valid else None
    into = _node(form.kind.data, form.into.data) if valid else None
    try:
        if source is None or into is None or services.plan_of_node(source) is not draft \
                or services.plan_of_node(into) is not draft:
            raise services.RevisionError({"into": _("Bitte wählen Sie, womit "
                                                    "zusammengeführt werden soll.")})
        label = f"{source.number} {source.title}"
        if isinstance(source, Field) and isinstance(into, Field):
            services.merge_field(db.session, source, into)
        elif isinstance(source, Goal) and isinstance(into, Goal):
            services.merge_goal(db.session, source, into)
        db.session.commit()
    except services.RevisionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("„%(source)s“ ist jetzt Teil von %(into)s; die Maßnahmen sind mitgewandert.",
                source=label, into=f"{into.number} {into.title}"), "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#gliederung")


def _node(kind: str | None, node_id: int | None) -> Field | Goal | None:
    if kind == "feld":
        return db.session.get(Field, node_id or 0)
    return db.session.get(Goal, node_id or 0)


@bp.route("/plaene/<int:plan_id>/fortschreibung/enddaten", methods=["POST"])
@requires(Action.EDIT_PLAN)
def end_dates(plan_id: int) -> ResponseReturnValue:
    """One new end for every carried-over measure that ends before the new plan starts."""
    old, draft = _old_and_draft(plan_id)
    form = EndDateForm()
    if form.validate_on_submit() and form.end_date.data is not None:
        if form.end_date.data < draft.valid_from:
            flash(_("Das neue Ende muss nach dem Beginn des neuen Plans liegen."), "error")
        else:
            rows = services.mapping(db.session, old, draft)
            count = services.set_end_dates(db.session, rows, form.end_date.data)
            db.session.commit()
            flash(ngettext("%(num)d Maßnahme endet jetzt am %(day)s.",
                           "%(num)d Maßnahmen enden jetzt am %(day)s.", count,
                           day=datum(form.end_date.data)), "success")
    else:
        flash(" ".join(str(e) for e in form.end_date.errors)
              or _("Bitte geben Sie ein gültiges Datum ein."), "error")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#massnahmen")


@bp.route("/plaene/<int:plan_id>/fortschreibung/beratung", methods=["POST"])
@requires(Action.EDIT_PLAN)
def add_stage(plan_id: int) -> ResponseReturnValue:
    """Record a committee meeting on the draft (Vorberatung, Anhörung, …)."""
    _old, draft = _old_and_draft(plan_id)
    form = StageForm()
    if form.validate_on_submit() and form.meeting_on.data is not None:
        stage = services.add_stage(db.session, draft, cast(User, current_user),
                                   body=form.body.data or "", purpose=form.purpose.data or "",
                                   meeting_on=form.meeting_on.data,
                                   paper_ref=form.paper_ref.data or "",
                                   result=form.result.data or "")
        db.session.commit()
        flash(_("Beratung im %(body)s am %(day)s eingetragen.", body=stage.body,
                day=datum(stage.meeting_on)), "success")
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#beschluss")


@bp.route("/plaene/<int:plan_id>/fortschreibung/beratung/<int:stage_id>/entfernen",
          methods=["POST"])
@requires(Action.EDIT_PLAN)
def remove_stage(plan_id: int, stage_id: int) -> ResponseReturnValue:
    """Remove a wrongly entered meeting (the audit log keeps it)."""
    _old, draft = _old_and_draft(plan_id)
    stage = db.session.get(CouncilStage, stage_id)
    if stage is not None and stage.plan_id == draft.id and FlaskForm().validate_on_submit():
        db.session.delete(stage)
        db.session.commit()
        flash(_("Beratung entfernt."), "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#beschluss")


@bp.route("/plaene/<int:plan_id>/fortschreibung/anlage.<fmt>")
@requires(Action.EDIT_PLAN)
def annex(plan_id: int, fmt: str) -> ResponseReturnValue:
    """The annex of the council's Vorlage: old → new, as a workbook or a PDF/UA annex."""
    if fmt not in {"xlsx", "ods", "pdf"}:
        abort(404)
    old, draft = _old_and_draft(plan_id, adopted_too=True)
    rows = services.mapping(db.session, old, draft)
    today = local_today()
    name = file_name(draft.title, "anlage-fortschreibung", today.isoformat(), fmt)
    if fmt == "pdf":
        html = render_template("revision/annex.html", plan=old, draft=draft, rows=rows,
                               stages=services.stages_of(db.session, draft), today=today,
                               outcomes=list(Outcome))
        return download(pdf_from_html(html)[0], name, "application/pdf")
    table = Table(str(_("Anlage Fortschreibung")), services.ANNEX_COLUMNS,
                  services.annex_rows(rows), text_columns=(0, 6), money_columns=(9,),
                  date_columns=(8,), title=draft.title)
    return tables_file([table], fmt, name)


@bp.route("/plaene/<int:plan_id>/fortschreibung/abfrage", methods=["POST"])
@requires(Action.EDIT_PLAN)
def open_query(plan_id: int) -> ResponseReturnValue:
    """Open the Fortschreibungsabfrage for the offices, or move its due date."""
    _old, draft = _old_and_draft(plan_id)
    form = QueryForm()
    try:
        if not form.validate_on_submit() or form.due_date.data is None:
            raise services.RevisionError({"due_date": " ".join(
                str(e) for e in form.due_date.errors) or _("Bitte geben Sie eine Frist ein.")})
        query = participation.open_query(db.session, draft, form.due_date.data,
                                         cast(User, current_user), local_today())
        invited = notifications.enqueue_revision_opened(db.session, query)
        db.session.commit()
    except services.RevisionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("Die Fortschreibungsabfrage ist offen bis %(day)s. Die Fachstellen sehen "
                "ihre Maßnahmen unter „Meine offenen Maßnahmen“.", day=datum(query.due_date))
              + " " + ngettext("%(num)d Person wird per Mail eingeladen.",
                               "%(num)d Personen werden per Mail eingeladen.", invited),
              "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#abfrage")


@bp.route("/plaene/<int:plan_id>/fortschreibung/abfrage/beenden", methods=["POST"])
@requires(Action.EDIT_PLAN)
def close_query(plan_id: int) -> ResponseReturnValue:
    """End the Fortschreibungsabfrage."""
    _old, draft = _old_and_draft(plan_id)
    query = participation.query_of(db.session, draft)
    if query is not None and FlaskForm().validate_on_submit():
        participation.close_query(db.session, query)
        db.session.commit()
        flash(_("Die Fortschreibungsabfrage ist beendet."), "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#abfrage")


@bp.route("/fortschreibung/<int:draft_id>/vorschlaege", methods=["GET", "POST"])
@requires(Action.PROPOSE)
def proposals(draft_id: int) -> ResponseReturnValue:
    """An office proposes what becomes of the measures it leads."""
    draft = db.get_or_404(Plan, draft_id)
    user = cast(User, current_user)
    query = participation.query_of(db.session, draft)
    if query is None or user.organisation_id is None:
        abort(404)
    rows = participation.office_rows(db.session, draft, user.organisation_id)
    writable = participation.is_open(query)
    errors: dict[int, str] = {}
    posted: dict[int, dict[str, str]] = {}
    if request.method == "POST" and FlaskForm().validate_on_submit():
        if not writable:
            flash(_("Die Fortschreibungsabfrage ist beendet; Vorschläge lassen sich nicht "
                    "mehr ändern."), "error")
            return redirect(url_for("revision.proposals", draft_id=draft_id))
        inputs, errors, posted = participation.read_proposals(rows, request.form, draft)
        if not errors:
            changed = 0
            for row in rows:
                if row.measure.id in inputs:
                    authorize(Action.PROPOSE, row.measure)
                    changed += participation.propose(db.session, draft, row.measure,
                                                     inputs[row.measure.id], user)
            db.session.commit()
            flash(ngettext("Danke! %(num)d Vorschlag gespeichert.",
                           "Danke! %(num)d Vorschläge gespeichert.", changed), "success")
            return redirect(url_for("revision.proposals", draft_id=draft_id))
    values = {r.measure.id: posted.get(r.measure.id) or participation.shown_proposal(r)
              for r in rows}
    return render_template("revision/proposals.html", draft=draft, query=query, rows=rows,
                           values=values, errors=errors, writable=writable,
                           outcomes=list(Outcome)), 422 if errors else 200


@bp.route("/plaene/<int:plan_id>/fortschreibung/links", methods=["POST"])
@requires(Action.EDIT_PLAN)
def create_share(plan_id: int) -> ResponseReturnValue:
    """A read-only link to the draft; its address is shown once, here."""
    _old, draft = _old_and_draft(plan_id)
    form = ShareForm()
    try:
        if not form.validate_on_submit() or form.expires_on.data is None:
            raise services.RevisionError({"label": " ".join(
                str(e) for errors in form.errors.values() for e in errors)})
        share, token = participation.create_share(
            db.session, draft, form.label.data or "", form.expires_on.data,
            cast(User, current_user), local_today())
        db.session.commit()
    except services.RevisionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("revision.wizard", plan_id=plan_id) + "#teilen")
    link = url_for("revision.shared", token=token, _external=True)
    flash(_("Link für „%(label)s“, gültig bis %(day)s – bitte jetzt kopieren, er wird nur "
            "einmal angezeigt: %(link)s", label=share.label, day=datum(share.expires_on),
            link=link), "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#teilen")


@bp.route("/plaene/<int:plan_id>/fortschreibung/links/<int:share_id>/widerrufen",
          methods=["POST"])
@requires(Action.EDIT_PLAN)
def revoke_share(plan_id: int, share_id: int) -> ResponseReturnValue:
    """The link stops working at once."""
    _old, draft = _old_and_draft(plan_id)
    share = db.session.get(RevisionShare, share_id)
    if share is not None and share.plan_id == draft.id and FlaskForm().validate_on_submit():
        participation.revoke_share(db.session, share)
        db.session.commit()
        flash(_("Der Link für „%(label)s“ gilt nicht mehr.", label=share.label), "success")
    return redirect(url_for("revision.wizard", plan_id=plan_id) + "#teilen")


@bp.route("/einblick/<token>")
def shared(token: str) -> ResponseReturnValue:
    """The draft, read-only, for holders of a valid link (no account needed)."""
    draft = participation.shared_draft(db.session, token, local_today())
    if draft is None or draft.predecessor is None:
        return render_template("revision/shared_gone.html"), 404
    rows = services.mapping(db.session, draft.predecessor, draft)
    return render_template("revision/shared.html", draft=draft, old=draft.predecessor,
                           outline=participation.draft_outline(db.session, draft), rows=rows,
                           outcomes=list(Outcome))


@bp.route("/plaene/<int:plan_id>/fortschreibung/verwerfen", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def discard(plan_id: int) -> ResponseReturnValue:
    """Delete the draft (after a confirmation); the old plan stays as it is."""
    old = db.get_or_404(Plan, plan_id)
    draft = services.draft_of(db.session, old)
    if draft is None:  # already discarded, e.g. by the same confirmation sent twice
        flash(_("Es gibt keinen Entwurf einer Fortschreibung (mehr)."), "info")
        return redirect(url_for("plan.overview", plan_id=old.id))
    form = FlaskForm()
    if form.validate_on_submit():
        title = draft.title
        try:
            services.discard(db.session, draft)
            db.session.commit()
        except services.RevisionError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("revision.wizard", plan_id=plan_id))
        flash(_("Der Entwurf „%(title)s“ wurde verworfen.", title=title), "success")
        return redirect(url_for("plan.overview", plan_id=old.id))
    return render_template("revision/discard.html", plan=old, draft=draft, form=form)


@bp.route("/plaene/<int:plan_id>/beschluss", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def adoption(plan_id: int) -> ResponseReturnValue:
    """Record the council's adoption of a draft; its predecessor is closed."""
    plan = db.get_or_404(Plan, plan_id)
    if plan.state is not PlanState.DRAFT:
        flash(_("Der Plan ist bereits beschlossen."), "error")
        return redirect(url_for("plan.overview", plan_id=plan.id))
    form = AdoptionForm()
    if form.validate_on_submit():
        try:
            services.adopt(db.session, plan, form.adopted_on.data,  # type: ignore[arg-type]
                           form.adoption_paper_ref.data or "")
        except services.RevisionError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("revision.wizard", plan_id=plan.predecessor_id)
                            + "#beschluss")
        db.session.commit()
        message = _("Beschluss erfasst: „%(title)s“ ist beschlossen.", title=plan.title)
        if plan.predecessor is not None:
            message += " " + _("„%(old)s“ ist jetzt abgeschlossen und nur noch lesbar.",
                               old=plan.predecessor.title)
        flash(message, "success")
        return redirect(url_for("plan.overview", plan_id=plan.id))
    return render_template("revision/adoption.html", plan=plan, form=form), (
        422 if request.method == "POST" else 200)


@bp.route("/plaene/<int:plan_id>/abschlussbericht", methods=["GET", "POST"])
@requires(Action.ISSUE_REPORT)
@once
def final_report(plan_id: int) -> ResponseReturnValue:
    """The Abschlussbericht as a web page (Kenntnisstand now); POST issues it as a PDF."""
    plan = db.get_or_404(Plan, plan_id)
    if plan.state is PlanState.DRAFT:
        abort(404)
    issued = len(jobs.requested_for(db.session, plan.id, plan.valid_to, ReportKind.FINAL))
    if request.method == "POST":
        # The count the page showed (two tabs opened before either was sent issue one).
        seen = ascii_int(request.form.get("ausgegeben"))
        key = jobs.issue_key(plan.id, plan.valid_to, ReportKind.FINAL, issued if seen is None
                             else seen)
        if (taken := claim(key, _("Der Abschlussbericht wurde eben schon angefordert; hier "
                                  "ist er."))) is not None:
            return taken
        report = jobs.request_final(db.session, plan, cast(User, current_user))
        db.session.commit()
        return redirect(url_for("reports.show", report_id=report.id))
    bar = Markup(
        '<form method="post" class="preview-bar" role="note"><strong>{}</strong> {} '
        '<input type="hidden" name="csrf_token" value="{}">{}'
        '<input type="hidden" name="ausgegeben" value="{}"><button type="submit">{}</button> '
        '<a href="{}">{}</a> <a href="{}">{}</a></form>'
    ).format(_("Entwurf (Vorschau)."), _("Kenntnisstand jetzt."), generate_csrf(),
             submission_field(), issued,
             _("Als PDF ausgeben"),
             url_for("reports.texts", plan_id=plan_id, stichtag=plan.valid_to.isoformat()),
             _("Texte schreiben"), url_for("plan.overview", plan_id=plan_id),
             _("Zurück zum Plan"))
    data = final.gather_final(plan.id, utcnow(),
                              draft_narrative(db.session, plan.id, plan.valid_to))
    return final.render_final_html(data, stylesheet=url_for("static", filename="css/report.css"),
                                   preview_bar=bar)
