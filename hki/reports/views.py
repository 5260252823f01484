"""Draft reports: the instant HTML preview and the PDF for a chosen Stichtag."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup, escape

from hki.db import utcnow
from hki.extensions import db
from hki.i18n import datum, local_today
from hki.plan.models import Plan
from hki.reports.data import NoSuchPlanError, ReportData, gather
from hki.reports.render import render_html, render_pdf
from hki.security import Action, requires

bp = Blueprint("reports", __name__)


def _day(name: str) -> date | None:
    """A date from the query string (JJJJ-MM-TT); anything else is a 400 with a message."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


def _draft(plan_id: int) -> ReportData:
    """The draft report (Kenntnisstand: now) for the Stichtag and base in the query."""
    db.get_or_404(Plan, plan_id)
    stichtag = _day("stichtag") or local_today()
    try:
        return gather(plan_id, stichtag, utcnow(), compare_with=_day("vergleich"))
    except NoSuchPlanError:
        abort(404)


@bp.get("/plaene/<int:plan_id>/bericht")
@requires(Action.ISSUE_REPORT)
def preview(plan_id: int) -> ResponseReturnValue:
    """The draft report as a web page, instantly (the PDF shows the same content)."""
    report = _draft(plan_id)
    pdf_url = url_for("reports.pdf", plan_id=plan_id, stichtag=report.stichtag.isoformat(),
                      vergleich=report.changes.base.isoformat() if report.changes else None)
    bar = Markup(
        '<div class="preview-bar" role="note"><strong>{}</strong> {} <a href="{}">{}</a> · '
        '<a href="{}">{}</a></div>'
    ).format(_("Entwurf (Vorschau)."),
             _("Stichtag %(day)s, Kenntnisstand jetzt.", day=datum(report.stichtag)),
             escape(pdf_url), _("Als PDF herunterladen"),
             url_for("plan.overview", plan_id=plan_id), _("Zurück zum Plan"))
    return render_html(report, stylesheet=url_for("static", filename="css/report.css"),
                       preview_bar=bar)


@bp.get("/plaene/<int:plan_id>/bericht.pdf")
@requires(Action.ISSUE_REPORT)
def pdf(plan_id: int) -> ResponseReturnValue:
    """The draft report as PDF/UA-1, rendered while the request waits."""
    report = _draft(plan_id)
    name = f"Sachstandsbericht_{report.stichtag.isoformat()}_Entwurf.pdf"
    return render_pdf(report), 200, {
        "Content-Type": "application/pdf",
        "Content-Disposition": f'attachment; filename="{name}"',
    }
