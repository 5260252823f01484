"""Pages of the Fortschreibung: the wizard, the adoption, the Abschlussbericht preview."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from hki.auth.models import User
from hki.db import utcnow
from hki.extensions import db
from hki.plan.models import Plan
from hki.reports import jobs
from hki.revision import final, services
from hki.revision.forms import AdoptionForm, RevisionForm
from hki.security import Action, requires
from hki.vocab import Outcome, PlanState

bp = Blueprint("revision", __name__)


@bp.route("/plaene/<int:plan_id>/fortschreibung", methods=["GET", "POST"])
@requires(Action.EDIT_PLAN)
def wizard(plan_id: int) -> ResponseReturnValue:
    """Choose each measure's fate and the new outline; check, then create the draft."""
    old = db.get_or_404(Plan, plan_id)
    problem = services.can_revise(db.session, old)
    if problem:
        successor = services.successor_of(db.session, old)
        return render_template("revision/blocked.html", plan=old, problem=problem,
                               successor=successor), 409
    form = RevisionForm()
    items = services.proposals(old)
    if request.method == "GET":
        form.valid_from.data, form.valid_to.data = services.default_period(old)
        form.title.data = services.default_title(old, form.valid_from.data,
                                                 form.valid_to.data)
        form.structure.data = services.structure_text(old)
        return render_template("revision/wizard.html", plan=old, form=form, items=items,
                               errors={}, structure_errors=[], summary=None,
                               outcomes=list(Outcome))
    services.apply_choices(items, request.form)
    outline, structure_errors = services.parse_structure(form.structure.data or "")
    errors = services.check_choices(items, outline) if not structure_errors else {}
    valid = form.validate() and not structure_errors and not errors
    if valid and request.form.get("confirm") == "1":
        new = services.NewPlan(title=(form.title.data or "").strip(),
                               valid_from=form.valid_from.data,  # type: ignore[arg-type]
                               valid_to=form.valid_to.data,  # type: ignore[arg-type]
                               description=(form.description.data or "").strip())
        try:
            plan = services.create_successor(db.session, old, new, outline, items,
                                             cast(User, current_user))
            db.session.commit()
        except IntegrityError:  # someone else created the successor at the same moment
            db.session.rollback()
            return render_template("revision/blocked.html", plan=old, successor=None,
                                   problem=_("Dieser Plan hat schon eine Fortschreibung.")), 409
        flash(_("Fortschreibung „%(title)s“ als Entwurf angelegt: %(n)d Maßnahmen "
                "übernommen.", title=plan.title,
                n=sum(i.outcome is Outcome.CARRIED_OVER for i in items)), "success")
        return redirect(url_for("plan.overview", plan_id=plan.id))
    summary = {o: [i for i in items if i.outcome is o] for o in Outcome} if valid else None
    return render_template("revision/wizard.html", plan=old, form=form, items=items,
                           errors=errors, structure_errors=structure_errors, summary=summary,
                           outcomes=list(Outcome)), 200 if valid else 422


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
        services.adopt(db.session, plan, form.adopted_on.data,  # type: ignore[arg-type]
                       form.adoption_paper_ref.data or "")
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
def final_report(plan_id: int) -> ResponseReturnValue:
    """The Abschlussbericht as a web page (Kenntnisstand now); POST issues it as a PDF."""
    plan = db.get_or_404(Plan, plan_id)
    if plan.state is PlanState.DRAFT:
        abort(404)
    if request.method == "POST":
        report = jobs.request_final(db.session, plan, cast(User, current_user))
        db.session.commit()
        return redirect(url_for("reports.show", report_id=report.id))
    bar = Markup(
        '<form method="post" class="preview-bar" role="note"><strong>{}</strong> {} '
        '<input type="hidden" name="csrf_token" value="{}"><button type="submit">{}</button> '
        '<a href="{}">{}</a></form>'
    ).format(_("Entwurf (Vorschau)."), _("Kenntnisstand jetzt."), generate_csrf(),
             _("Als PDF ausgeben"), url_for("plan.overview", plan_id=plan_id),
             _("Zurück zum Plan"))
    data = final.gather_final(plan.id, utcnow())
    return final.render_final_html(data, stylesheet=url_for("static", filename="css/report.css"),
                                   preview_bar=bar)
