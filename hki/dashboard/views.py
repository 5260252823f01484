"""Dashboard and measure finder: read-only pages for every role, filters in the URL."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from hki.dashboard import queries
from hki.reports.charts import field_bars
from hki.reports.data import NoSuchPlanError
from hki.vocab import Priority, Status

bp = Blueprint("dashboard", __name__)


def _view(plan_id: int) -> tuple[queries.View, queries.Parsed]:
    """The plan at the requested "Stand am" (today by default), with parsed filters."""
    parsed = queries.parse(request.args, request.args.getlist)
    try:
        return queries.plan_view(plan_id, parsed.stand), parsed
    except NoSuchPlanError:
        if parsed.stand is None:
            abort(404)
        parsed.errors.append("Den Plan gab es am gewählten Tag noch nicht; es wird der "
                             "heutige Stand gezeigt.")
        try:
            return queries.plan_view(plan_id), parsed
        except NoSuchPlanError:
            abort(404)


@bp.get("/plaene/<int:plan_id>/dashboard")
def dashboard(plan_id: int) -> str:
    """Counts per status and field, progress, late and silent measures, latest changes."""
    view, parsed = _view(plan_id)
    months = parsed.filters.still_monate or current_app.config["HKI_SILENT_MONTHS"]
    board = queries.dashboard(view, months)
    return render_template("dashboard/dashboard.html", d=board, v=view, plan=view.report.plan,
                           chart=field_bars(view.report), errors=parsed.errors,
                           statuses=list(Status))


@bp.get("/plaene/<int:plan_id>/massnahmen")
def finder(plan_id: int) -> str:
    """The measure finder: filters, full-text search and sorting, all in the URL."""
    view, parsed = _view(plan_id)
    rows = queries.select(view, parsed.filters)
    return render_template("dashboard/finder.html", v=view, plan=view.report.plan,
                           rows=rows, f=parsed.filters, errors=parsed.errors,
                           choices=queries.choices(view), statuses=list(Status),
                           priorities=list(Priority), sorts=queries.SORTS,
                           without=queries.WITHOUT)
