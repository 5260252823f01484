"""Read-only pages of the plan: list of plans, plan overview, measure page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from hki.auth.queries import AUDIT_FIELDS
from hki.extensions import db
from hki.plan import queries
from hki.plan.chart import indicator_chart
from hki.plan.history import measure_history
from hki.revision.services import lineage_of, successor_of
from hki.security import sees_update
from hki.updates.queries import current_update, update_history

bp = Blueprint("plan", __name__)


@bp.get("/")
def index() -> str:
    """List the plans, newest period first."""
    return render_template("plan/index.html", plans=queries.all_plans())


@bp.get("/plaene/<int:plan_id>")
def overview(plan_id: int) -> str:
    """Show a plan's fields, goals and measures with each measure's current status."""
    overview = queries.plan_overview(plan_id)
    if overview is None:
        abort(404)
    return render_template("plan/overview.html", o=overview, plan=overview.plan,
                           successor=successor_of(db.session, overview.plan))


@bp.get("/massnahmen/<int:measure_id>")
def measure(measure_id: int) -> str:
    """Show one measure with its attributes, indicators and full update history."""
    found = queries.measure_detail(measure_id)
    if found is None:
        abort(404)
    history = [u for u in update_history(found.id) if sees_update(current_user, u)]
    return render_template("plan/measure.html", m=found, history=history,
                           current=current_update(found.id),
                           changes=measure_history(found), fields=AUDIT_FIELDS,
                           charts={i.id: indicator_chart(i) for i in found.indicators},
                           lineage=lineage_of(found))
