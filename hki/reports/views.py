"""Reports: the instant HTML preview of a draft, issuing (rendered by the worker), downloads."""

from __future__ import annotations

from datetime import date
from typing import cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from hki.auth.models import User
from hki.db import utcnow
from hki.extensions import db
from hki.i18n import ascii_int, datum, local_today, parse_day
from hki.plan.history import plan_as_of
from hki.plan.models import Plan
from hki.reports import jobs
from hki.reports.data import NoSuchPlanError, ReportData, end_of_day, gather
from hki.reports.forms import narrative_form
from hki.reports.models import Report, ReportState
from hki.reports.narrative import (
    NarrativeConflictError,
    draft_narrative,
    draft_text,
    save_narrative,
)
from hki.reports.render import render_html
from hki.security import Action, can, requires
from hki.submissions import claim, once
from hki.vocab import ReportKind

bp = Blueprint("reports", __name__)


def _day(raw: str | None) -> date | None:
    """A date as JJJJ-MM-TT or TT.MM.JJJJ; anything else is a 400 with a German message."""
    if not raw or not raw.strip():
        return None
    found = parse_day(raw)
    if found is None:
        abort(400)
    return found


@bp.get("/plaene/<int:plan_id>/bericht")
@requires(Action.ISSUE_REPORT)
def preview(plan_id: int) -> ResponseReturnValue:
    """The draft report (Kenntnisstand: now) as a web page, instantly."""
    db.get_or_404(Plan, plan_id)
    stichtag = _day(request.args.get("stichtag")) or local_today()
    base = _day(request.args.get("vergleich"))
    if base is None and "vergleich" not in request.args:
        base = jobs.previous_stichtag(db.session, plan_id, stichtag)
    try:
        report: ReportData = gather(plan_id, stichtag, utcnow(), compare_with=base,
                                    narrative=draft_narrative(db.session, plan_id, stichtag))
    except NoSuchPlanError:
        abort(404)
    bar = Markup(
        '<div class="preview-bar" role="note"><strong>{}</strong> {} <a href="{}">{}</a> · '
        '<a href="{}">{}</a></div>'
    ).format(_("Entwurf (Vorschau)."),
             _("Stichtag %(day)s, Kenntnisstand jetzt.", day=datum(report.stichtag)),
             escape(url_for("reports.index", plan_id=plan_id, stichtag=stichtag.isoformat(),
                            vergleich=base.isoformat() if base else "")),
             _("Als PDF ausgeben"),
             url_for("plan.overview", plan_id=plan_id), _("Zurück zum Plan"))
    bar += Markup(' · <a href="{}">{}</a>').format(
        url_for("reports.texts", plan_id=plan_id, stichtag=stichtag.isoformat()),
        _("Eigene Texte schreiben"))
    return render_html(report, stylesheet=url_for("static", filename="css/report.css"),
                       preview_bar=bar)


@bp.route("/plaene/<int:plan_id>/bericht/texte", methods=["GET", "POST"])
@requires(Action.ISSUE_REPORT)
def texts(plan_id: int) -> ResponseReturnValue:
    """The coordination's texts for the report of one Stichtag: write, save, preview."""
    plan = db.get_or_404(Plan, plan_id)
    stichtag = _day(request.values.get("stichtag")) or local_today()
    tree = plan_as_of(plan_id, min(end_of_day(stichtag), utcnow()))
    if tree is None:
        abort(404)
    stored = draft_text(db.session, plan_id, stichtag)
    form = narrative_form(tree.fields)()
    if request.method == "GET":
        form.fill(draft_narrative(db.session, plan_id, stichtag))
        form.version.data = str(stored.version) if stored else ""
    elif form.validate_on_submit():
        try:
            saved = save_narrative(db.session, plan_id, stichtag, cast(User, current_user),
                                   form.narrative(), form.loaded_version())
        except NarrativeConflictError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Die Texte für den Bericht zum %(day)s sind gespeichert.",
                    day=datum(stichtag)), "success")
            return redirect(url_for("reports.texts", plan_id=plan_id,
                                    stichtag=stichtag.isoformat(), v=saved.version))
    return render_template("reports/texts.html", plan=plan, stichtag=stichtag, form=form,
                           stored=stored)


@bp.route("/plaene/<int:plan_id>/berichte", methods=["GET", "POST"])
@requires(Action.VIEW)
@once
def index(plan_id: int) -> ResponseReturnValue:
    """Issued reports of a plan; coordinators request new ones here."""
    plan = db.get_or_404(Plan, plan_id)
    issuer = can(current_user, Action.ISSUE_REPORT)
    stichtag = _day(request.values.get("stichtag")) or local_today()
    base = _day(request.values.get("vergleich"))
    duplicates: list[Report] = []
    issued = 0
    if request.method == "POST":
        if not issuer:
            abort(403)
        requested = jobs.requested_for(db.session, plan_id, stichtag, ReportKind.PROGRESS)
        duplicates = jobs.not_failed(requested)
        issued = len(requested)
        confirmed = request.form.get("bestaetigt", "")
        if not duplicates or confirmed:
            # A confirmation names the count it was shown; "ja" (scripts) means the current.
            seen = ascii_int(confirmed) if confirmed != "ja" else None
            key = jobs.issue_key(plan_id, stichtag, ReportKind.PROGRESS,
                                 issued if seen is None else seen)
            if (taken := claim(key, _("Ein Bericht zu diesem Stichtag wurde eben schon "
                                      "angefordert; hier ist er."))) is not None:
                return taken
            user = cast(User, current_user._get_current_object())
            report = jobs.request_report(db.session, plan, user, stichtag, base)
            db.session.commit()
            return redirect(url_for("reports.show", report_id=report.id))
    states = [ReportState.DONE] if not issuer else list(ReportState)
    reports = db.session.scalars(
        select(Report).where(Report.plan_id == plan_id, Report.state.in_(states))
        .order_by(Report.stichtag.desc(), Report.id.desc())).all()
    if base is None and "vergleich" not in request.values:
        base = jobs.previous_stichtag(db.session, plan_id, stichtag)
    return render_template("reports/index.html", plan=plan, reports=reports, issuer=issuer,
                           stichtag=stichtag, base=base, duplicates=duplicates,
                           issued=issued)


def _visible(report_id: int) -> Report:
    report = db.get_or_404(Report, report_id)
    if report.state is not ReportState.DONE and not can(current_user, Action.ISSUE_REPORT):
        abort(404)
    return report


@bp.get("/berichte/<int:report_id>")
@requires(Action.VIEW)
def show(report_id: int) -> ResponseReturnValue:
    """A report's state; refreshes itself while the worker renders it."""
    return render_template("reports/show.html", report=_visible(report_id), States=ReportState)


@bp.get("/berichte/<int:report_id>.pdf")
@requires(Action.VIEW)
def download(report_id: int) -> ResponseReturnValue:
    """The stored PDF, byte for byte as issued."""
    report = _visible(report_id)
    if report.state is not ReportState.DONE or report.pdf is None:
        abort(404)
    return report.pdf, 200, {
        "Content-Type": "application/pdf",
        "Content-Disposition": f'attachment; filename="{report.file_name}"',
        "X-Content-SHA256": report.sha256 or "",
    }
