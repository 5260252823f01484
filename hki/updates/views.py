"""Posting a status update on a measure."""

from __future__ import annotations

from datetime import date
from typing import cast

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from hki.extensions import db
from hki.plan.models import Measure
from hki.security import Action, authorize
from hki.updates.forms import UpdateForm
from hki.updates.queries import update_history
from hki.updates.services import post_update
from hki.vocab import Status

bp = Blueprint("updates", __name__)


@bp.route("/massnahmen/<int:measure_id>/sachstand", methods=["GET", "POST"])
def new(measure_id: int) -> ResponseReturnValue:
    """Show and take the form for a new status update on one measure."""
    measure = db.get_or_404(Measure, measure_id)
    authorize(Action.POST_UPDATE, measure)
    history = update_history(measure.id)
    current = history[0] if history else None
    previous = current.status if current else None
    form = UpdateForm(finite=measure.end_date is not None, previous=previous)
    if request.method == "GET" and current is not None:
        form.status.data, form.progress.data = current.status.value, current.progress
    if form.validate_on_submit():
        post_update(
            db.session, measure, current_user._get_current_object(),
            as_of=cast(date, form.as_of.data),  # DataRequired: never None here
            status=Status(form.status.data),
            progress=form.progress.data, note=form.note.data or "",
            previous=previous,
        )
        db.session.commit()
        flash(_("Der Sachstand für %(number)s wurde gespeichert.", number=measure.number),
              "success")
        return redirect(url_for("plan.measure", measure_id=measure.id))
    return render_template("updates/new.html", form=form, m=measure, history=history)
