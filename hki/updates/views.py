"""Status updates, their review (Freigabe) and update rounds (Sachstandsabfragen)."""

from __future__ import annotations

from datetime import date
from typing import cast

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hki.auth.models import User
from hki.extensions import db
from hki.i18n import local_today
from hki.mail import MailError
from hki.plan.models import Measure, Plan
from hki.plan.queries import measure_detail
from hki.revision import participation
from hki.security import Action, authorize, bounded_int, is_safe_next, requires
from hki.submissions import once
from hki.updates import rounds, services
from hki.updates.bulk import bulk_rows, save_bulk
from hki.updates.forms import BulkForm, ReturnForm, RoundForm, update_form
from hki.updates.models import StatusUpdate, UpdateRound
from hki.updates.notifications import offices_without_login
from hki.updates.queries import (
    ReviewFilter,
    awaiting_review,
    current_update,
    current_updates,
    current_updates_of,
    open_review_count,
    returned_draft,
)
from hki.updates.reminders import send_reminders
from hki.vocab import Decision, Status

bp = Blueprint("updates", __name__)


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _round_arg() -> UpdateRound | None:
    """The open round named by ``?runde=``, if any (answering one measure after another)."""
    round_id = bounded_int(request.args.get("runde"))
    rnd = db.session.get(UpdateRound, round_id) if round_id else None
    return rnd if rnd is not None and rnd.closed_at is None else None


def _corrected_arg(measure: Measure) -> StatusUpdate | None:
    """The update named by ``?korrigiert=``; it must belong to this measure."""
    raw = request.args.get("korrigiert")
    if raw is None:
        return None
    update = db.session.get(StatusUpdate, bounded_int(raw) or 0)
    if update is None or update.measure_id != measure.id or not services.correctable(update):
        abort(404)
    return update


@bp.route("/massnahmen/<int:measure_id>/sachstand", methods=["GET", "POST"])
@once
def new(measure_id: int) -> ResponseReturnValue:
    """Take a new status update (or a correction) on one measure."""
    # With its indicators and the values that count (the form shows the latest).
    measure = measure_detail(measure_id) or abort(404)
    authorize(Action.POST_UPDATE, measure)
    if measure.archived_at or measure.goal.archived_at or measure.goal.field.archived_at:
        abort(404)  # archived measures are history: no new updates
    rnd, corrected = _round_arg(), _corrected_arg(measure)
    current = current_update(measure.id)
    # Carried over by a Fortschreibung and not yet reported on: the old plan's last status
    # is where the office left off, so it is shown and the form starts from it.
    inherited = current_update(measure.origin_id) if (
        current is None and measure.origin_id is not None) else None
    returned = None if corrected else returned_draft(measure.id)
    indicators = list(measure.indicators)
    previous = current.status if current else None
    # Everyone who reports gives values: they count when the update counts.
    form = update_form(indicators)(
        finite=measure.end_date is not None, previous=previous,
        period=(rnd.period_start, rnd.stichtag) if rnd else None)
    if request.method == "GET":
        # A returned answer comes back as it was sent, to be completed, not retyped.
        start = corrected or returned or current or inherited
        if start is not None:
            form.status.data, form.progress.data = start.status.value, start.progress
        if corrected is not None or returned is not None:
            form.as_of.data, form.note.data = start.as_of, start.note  # type: ignore[union-attr]
            form.fill_values(start.values)  # type: ignore[union-attr]
        elif rnd is not None:
            form.as_of.data = min(rnd.stichtag, local_today())
    if form.validate_on_submit():
        try:
            update = services.post_update(
                db.session, measure, _user(),
                as_of=cast(date, form.as_of.data),  # DataRequired: never None here
                status=Status(form.status.data), progress=form.progress.data,
                note=form.note.data or "", previous=previous, corrects=corrected,
                measurements=form.measurements(),
            )
        except services.InvalidUpdateError as error:
            db.session.rollback()
            for message in error.errors.values():
                flash(message, "error")
        else:
            db.session.commit()
            _flash_saved(update)
            return redirect(_after_saving(measure, rnd))
    return render_template("updates/new.html", form=form, m=measure, current=current,
                           indicators=indicators, inherited=inherited,
                           rnd=rnd, corrected=corrected, returned=returned)


def _flash_saved(update: StatusUpdate) -> None:
    if update.review is not None:
        flash(_("Der Sachstand für %(number)s wurde gespeichert.",
                number=update.measure.number), "success")
    else:
        flash(_("Der Sachstand für %(number)s wurde eingereicht. Er zählt, sobald die "
                "Koordination ihn freigegeben hat.", number=update.measure.number), "success")


def _after_saving(measure: Measure, rnd: UpdateRound | None) -> str:
    """In a round: the next open measure, or the list when all are answered."""
    if rnd is None:
        return url_for("plan.measure", measure_id=measure.id)
    following = rounds.next_open(rnd, _user(), measure)
    if following is None:
        flash(_("Sie haben alle Maßnahmen der Abfrage „%(title)s“ beantwortet. Vielen Dank!",
                title=rnd.title), "success")
        return url_for("updates.my_open")
    return url_for("updates.new", measure_id=following.id, runde=rnd.id)


@bp.get("/meine-massnahmen")
@requires(Action.POST_UPDATE)
def my_open() -> ResponseReturnValue:
    """"Meine offenen Maßnahmen": what the user owes in rounds and Fortschreibungsabfragen."""
    return render_template("updates/my_open.html", work=rounds.open_work_for(_user()),
                           revisions=participation.open_queries_for(db.session, _user()))


# --- Review (Freigabe) -----------------------------------------------------------------


def _review_filter() -> ReviewFilter:
    """The Freigabe list's filters from the URL (?runde=, ?fachstelle=, ?feld=)."""
    round_id = bounded_int(request.args.get("runde"))
    return ReviewFilter(
        round=db.session.get(UpdateRound, round_id) if round_id else None,
        organisation_id=bounded_int(request.args.get("fachstelle")),
        field_id=bounded_int(request.args.get("feld")))


@bp.get("/freigabe")
@requires(Action.REVIEW_UPDATES)
def review_list() -> ResponseReturnValue:
    """Offices' updates waiting for a decision, oldest first; filtered by round, office, field."""
    everything = awaiting_review()
    only = _review_filter()
    pending = awaiting_review(only) if only != ReviewFilter() else everything
    current = current_updates_of([u.measure_id for u in pending])
    offices = {u.measure.lead.id: u.measure.lead.name for u in everything}
    fields = {u.measure.goal.field.id: u.measure.goal.field for u in everything}
    return render_template(
        "updates/review.html", pending=pending, current=current, form=ReturnForm(),
        only=only, total=len(everything), rounds=rounds.open_rounds(),
        offices=sorted(offices.items(), key=lambda o: o[1].casefold()),
        fields=sorted(fields.values(), key=lambda f: (f.plan_id, f.position, f.number)))


def _answer(message: str, ok: bool, anchor: str = "") -> ResponseReturnValue:
    """A flash and the list again; or, for the page's script, the message as JSON."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(ok=ok, message=message, open=open_review_count()), 200 if ok else 409
    flash(message, "success" if ok else "error")
    back = request.form.get("zurueck")  # the list as filtered when the button was pressed
    return redirect((back if is_safe_next(back) else url_for("updates.review_list")) + anchor)


@bp.post("/sachstaende/<int:update_id>/entscheiden")
@requires(Action.REVIEW_UPDATES)
def decide(update_id: int) -> ResponseReturnValue:
    """Accept an update, or return it with a comment."""
    update = db.get_or_404(StatusUpdate, update_id)
    accept = request.form.get("entscheidung") == "freigeben"
    form = ReturnForm()
    if not accept and not form.validate_on_submit():
        return _answer(form.comment.errors[0] if form.comment.errors else
                       _("Bitte schreiben Sie der Fachstelle, was sie ändern soll."), False,
                       f"#sachstand-{update.id}")
    try:
        services.review(db.session, update, _user(),
                        Decision.ACCEPTED if accept else Decision.RETURNED,
                        "" if accept else form.comment.data or "")
        db.session.flush()
    except services.ReviewError as error:
        db.session.rollback()
        return _answer(str(error), False)
    except IntegrityError:  # another coordinator decided at the same moment
        db.session.rollback()
        return _answer(_("Über diesen Sachstand wurde bereits entschieden."), False)
    db.session.commit()
    return _answer(_("Sachstand %(number)s freigegeben.", number=update.measure.number)
                   if accept else _("Sachstand %(number)s an die Fachstelle zurückgegeben.",
                                    number=update.measure.number), True)


@bp.post("/freigabe/auswahl")
@requires(Action.REVIEW_UPDATES)
def accept_selected() -> ResponseReturnValue:
    """Accept the ticked updates together (those decided meanwhile are skipped)."""
    ids = [i for i in (bounded_int(v) for v in request.form.getlist("auswahl")) if i]
    chosen = db.session.scalars(select(StatusUpdate).where(StatusUpdate.id.in_(ids))).all()
    if not chosen:
        return _answer(_("Bitte wählen Sie mindestens einen Sachstand aus."), False)
    try:
        accepted = services.accept_many(db.session, chosen, _user())
        db.session.flush()
    except services.ReviewError as error:
        db.session.rollback()
        return _answer(str(error), False)
    except IntegrityError:
        db.session.rollback()
        return _answer(_("Ein anderer Sachstand der Auswahl wurde gerade entschieden; es wurde "
                         "nichts gespeichert. Bitte wählen Sie erneut."), False)
    db.session.commit()
    return _answer(ngettext("%(num)d Sachstand freigegeben.", "%(num)d Sachstände freigegeben.",
                            accepted), True)


# --- Rounds ----------------------------------------------------------------------------


@bp.get("/plaene/<int:plan_id>/abfragen")
@requires(Action.RUN_ROUNDS)
def round_list(plan_id: int) -> ResponseReturnValue:
    """A plan's rounds, newest first."""
    plan = db.get_or_404(Plan, plan_id)
    return render_template("updates/rounds.html", plan=plan, rounds=rounds.rounds_of(plan.id))


@bp.route("/plaene/<int:plan_id>/abfragen/neu", methods=["GET", "POST"])
@requires(Action.RUN_ROUNDS)
@once
def round_new(plan_id: int) -> ResponseReturnValue:
    """Open a round for a Stichtag with a due date."""
    plan = db.get_or_404(Plan, plan_id)
    authorize(Action.RUN_ROUNDS, plan)
    form = RoundForm()
    if request.method == "GET":
        form.period_start.data = rounds.default_period_start(db.session, plan, local_today())
        form.stichtag.data = local_today()
    if form.validate_on_submit():
        rnd = rounds.open_round(
            db.session, plan, _user(), title=form.title.data or "",
            period_start=cast(date, form.period_start.data),
            stichtag=cast(date, form.stichtag.data), due_date=cast(date, form.due_date.data))
        db.session.commit()
        flash(_("Die Abfrage ist eröffnet. Die Fachstellen sehen ihre offenen Maßnahmen "
                "jetzt unter „Meine offenen Maßnahmen“."), "success")
        return redirect(url_for("updates.round_view", round_id=rnd.id))
    return render_template("updates/round_new.html", plan=plan, form=form,
                           unreachable=offices_without_login(db.session, plan.id))


@bp.get("/abfragen/<int:round_id>")
@requires(Action.RUN_ROUNDS)
def round_view(round_id: int) -> ResponseReturnValue:
    """Completion per office and per field, and the missing answers."""
    rnd = db.get_or_404(UpdateRound, round_id)
    rows = rounds.round_measures(rnd)
    return render_template(
        "updates/round.html", rnd=rnd, rows=rows, Answer=rounds.Answer,
        unreachable=offices_without_login(db.session, rnd.plan_id),
        by_office=rounds.completion(sorted(rows, key=rounds.by_office), rounds.by_office),
        by_field=rounds.completion(rows, rounds.by_field),
        total=rounds.completion(rows, lambda r: "")[0] if rows else None,
    )


@bp.post("/abfragen/<int:round_id>/erinnern")
@requires(Action.RUN_ROUNDS)
def round_remind(round_id: int) -> ResponseReturnValue:
    """Mail each office with missing answers once a day at most."""
    rnd = _open_round_or_404(round_id)
    try:
        result = send_reminders(db.session, rnd, _user(), local_today())
    except MailError as error:
        db.session.rollback()
        flash(str(error), "error")
    except IntegrityError:  # someone sent the same reminders at the same moment
        db.session.rollback()
        flash(_("Die Erinnerungen wurden gerade schon von jemand anderem gesendet."), "info")
    else:
        db.session.commit()
        for message in result.messages():
            flash(message, "info")
    return redirect(url_for("updates.round_view", round_id=rnd.id))


@bp.post("/abfragen/<int:round_id>/abschliessen")
@requires(Action.RUN_ROUNDS)
def round_close(round_id: int) -> ResponseReturnValue:
    """Close the round: offices no longer see it."""
    rnd = _open_round_or_404(round_id)
    rounds.close_round(db.session, rnd)
    db.session.commit()
    flash(_("Die Abfrage ist abgeschlossen."), "success")
    return redirect(url_for("updates.round_view", round_id=rnd.id))


@bp.route("/abfragen/<int:round_id>/sammeleingabe", methods=["GET", "POST"])
@requires(Action.RUN_ROUNDS)
def round_bulk(round_id: int) -> ResponseReturnValue:
    """Enter several answers received by mail in one save: all or nothing."""
    rnd = _open_round_or_404(round_id)
    rows = rounds.round_measures(rnd)
    form = BulkForm(period=(rnd.period_start, rnd.stichtag))
    if request.method == "GET":
        form.as_of.data = min(rnd.stichtag, local_today())
    entries = bulk_rows(rows, current_updates(rnd.plan_id),
                        request.form if request.method == "POST" else None)
    if form.validate_on_submit() and not any(e.errors for e in entries):
        saved = save_bulk(db.session, entries, _user(), cast(date, form.as_of.data))
        if saved:
            db.session.commit()
            flash(ngettext("%(num)s Sachstand gespeichert.", "%(num)s Sachstände gespeichert.",
                           saved), "success")
            return redirect(url_for("updates.round_view", round_id=rnd.id))
        flash(_("Es wurde kein Umsetzungsstand gewählt; nichts gespeichert."), "error")
    elif request.method == "POST":
        flash(_("Bitte prüfen Sie die markierten Zeilen. Es wurde noch nichts gespeichert."),
              "error")
    return render_template("updates/bulk.html", rnd=rnd, form=form, entries=entries,
                           statuses=list(Status))


def _open_round_or_404(round_id: int) -> UpdateRound:
    rnd = db.get_or_404(UpdateRound, round_id)
    if rnd.closed_at is not None:
        flash(_("Diese Abfrage ist bereits abgeschlossen."), "error")
        abort(redirect(url_for("updates.round_view", round_id=rnd.id)))
    authorize(Action.RUN_ROUNDS, rnd.plan)  # not on an abgeschlossen plan
    return rnd
