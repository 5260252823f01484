"""Posting a status update on a measure."""

from __future__ import annotations

from datetime import date
from typing import cast

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from hki.extensions import db
from hki.plan.models import Measure
from hki.security import Action, authorize
from hki.updates.forms import UpdateForm
from hki.updates.queries import update_history
from hki.updates.services import InvalidUpdateError, post_update
from hki.vocab import Status

bp = Blueprint("updates", __name__)


@bp.route("/massnahmen/<int:measure_id>/sachstand", methods=["GET", "POST"])
def new(measure_id: int) -> ResponseReturnValue:
    """Show and take the form for a new status update on one measure."""
    measure = db.get_or_404(Measure, measure_id)
    authorize(Action.POST_UPDATE, measure)
    history = update_history(measure.id)
    form = UpdateForm()
    if form.validate_on_submit():
        try:
            post_update(
                db.session, measure, current_user._get_current_object(),
                as_of=cast(date, form.as_of.data),  # DataRequired: never None here
                status=Status(form.status.data),
                progress=form.progress.data, note=form.note.data or "",
                previous=history[0].status if history else None,
            )
        except InvalidUpdateError as rejected:
            db.session.rollback()
            for name, message in rejected.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            db.session.commit()
            flash(_("Der Sachstand für %(number)s wurde gespeichert.", number=measure.number),
                  "success")
            return redirect(url_for("plan.measure", measure_id=measure.id))
    return render_template("updates/new.html", form=form, m=measure, history=history)
