"""Login, logout, and the administration of users and organisations."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from hki.auth import queries, services
from hki.auth.forms import (
    NO_ORGANISATION,
    LoginForm,
    OrganisationEditForm,
    OrganisationForm,
    UserCreateForm,
    UserEditForm,
)
from hki.auth.models import User
from hki.extensions import db
from hki.plan.models import Organisation
from hki.security import (
    Action,
    bounded_int,
    check_password,
    is_safe_next,
    login_attempt_allowed,
    login_failed,
    login_succeeded,
    new_session_token,
    refusal_is_new,
    requires,
)
from hki.vocab import Role

bp = Blueprint("auth", __name__)


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with e-mail and password; one message for every kind of failure."""
    if current_user.is_authenticated:
        return redirect(url_for("plan.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = services.normalise_email(form.email.data or "")[:254]
        address = request.remote_addr or "unbekannt"
        if not login_attempt_allowed(email, address):
            if refusal_is_new(address):
                services.record_login_alarm(db.session, email, address, "gesperrt")
                db.session.commit()
            abort(429)
        user = services.find_user(db.session, email)
        if check_password(user, form.password.data or "") and user is not None:
            login_succeeded(email, address)
            if not user.session_token:
                services.first_session_token(db.session, user, new_session_token())
            session.clear()
            login_user(user)
            session.permanent = True
            session["login_at"] = datetime.now(UTC).timestamp()
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("plan.index"))
        if login_failed(email, address):
            services.record_login_alarm(db.session, email, address, "fehlversuche")
            db.session.commit()
        flash(_("E-Mail-Adresse oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingaben."),
              "error")
    return render_template("auth/login.html", form=form)


@bp.post("/abmelden")
def logout() -> ResponseReturnValue:
    """End this session and every other session of the same account."""
    if current_user.is_authenticated:
        current_user.session_token = new_session_token()
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("auth.login"))


# --- Administration --------------------------------------------------------------------


def _organisation_or_none(organisation_id: int) -> Organisation | None:
    if organisation_id == NO_ORGANISATION:
        return None
    return db.get_or_404(Organisation, organisation_id)


@bp.get("/verwaltung/benutzer")
@requires(Action.MANAGE_USERS)
def users() -> ResponseReturnValue:
    """List all accounts."""
    return render_template("auth/users.html", users=queries.all_users())


@bp.route("/verwaltung/benutzer/neu", methods=["GET", "POST"])
@requires(Action.MANAGE_USERS)
def user_new() -> ResponseReturnValue:
    """Create an account."""
    form = UserCreateForm()
    if form.validate_on_submit():
        user = services.create_user(
            db.session, email=form.email.data or "", display_name=form.display_name.data or "",
            role=Role(form.role.data),
            organisation=_organisation_or_none(form.organisation_id.data),
            password=form.password.data,
        )
        db.session.commit()
        flash(_("Das Konto für %(name)s wurde angelegt.", name=user.display_name), "success")
        return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/verwaltung/benutzer/<int:user_id>", methods=["GET", "POST"])
@requires(Action.MANAGE_USERS)
def user_edit(user_id: int) -> ResponseReturnValue:
    """Change an account's role, organisation, activity or password."""
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    if request.method == "GET":
        form.role.data = user.role.value
        form.organisation_id.data = user.organisation_id or NO_ORGANISATION
    if form.validate_on_submit():
        if user.id == current_user.id and not (
            form.is_active.data and form.role.data == Role.ADMIN.value
        ):
            flash(_("Sie können sich nicht selbst deaktivieren oder Ihre eigene "
                    "Administrationsrolle entziehen."), "error")
        else:
            services.update_user(
                db.session, user, display_name=form.display_name.data or "",
                role=Role(form.role.data),
                organisation=_organisation_or_none(form.organisation_id.data),
                is_active=bool(form.is_active.data), password=form.password.data or None,
            )
            db.session.commit()
            flash(_("Die Änderungen an %(name)s wurden gespeichert.", name=user.display_name),
                  "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)


@bp.route("/verwaltung/organisationen", methods=["GET", "POST"])
@requires(Action.MANAGE_USERS)
def organisations() -> ResponseReturnValue:
    """List organisations and add a new one."""
    form = OrganisationForm()
    if form.validate_on_submit():
        organisation = services.create_organisation(db.session, form.name.data or "")
        db.session.commit()
        flash(_("Die Organisation %(name)s wurde angelegt.", name=organisation.name), "success")
        return redirect(url_for("auth.organisations"))
    return render_template(
        "auth/organisations.html", form=form, organisations=queries.all_organisations()
    )


@bp.route("/verwaltung/organisationen/<int:organisation_id>", methods=["GET", "POST"])
@requires(Action.MANAGE_USERS)
def organisation_edit(organisation_id: int) -> ResponseReturnValue:
    """Rename or (de)activate an organisation."""
    organisation = db.get_or_404(Organisation, organisation_id)
    form = OrganisationEditForm(obj=organisation, current_id=organisation.id)
    if form.validate_on_submit():
        services.update_organisation(
            db.session, organisation, name=form.name.data or "", is_active=bool(form.is_active.data)
        )
        db.session.commit()
        flash(_("Die Organisation %(name)s wurde gespeichert.", name=organisation.name),
              "success")
        return redirect(url_for("auth.organisations"))
    return render_template("auth/organisation_form.html", form=form, organisation=organisation)


@bp.get("/protokoll")
@requires(Action.VIEW_AUDIT)
def audit_log() -> ResponseReturnValue:
    """The audit log, newest first, filtered by entity and person."""
    entity = request.args.get("bereich") or None
    if entity not in queries.AUDIT_ENTITIES:
        entity = None
    user_id = bounded_int(request.args.get("person"))
    page = queries.audit_page(entity=entity, user_id=user_id,
                              page=bounded_int(request.args.get("seite")) or 1)
    return render_template(
        "auth/audit.html", page=page, entity=entity, user_id=user_id,
        entities=queries.AUDIT_ENTITIES, actions=queries.AUDIT_ACTIONS, fields=queries.AUDIT_FIELDS,
        people=queries.audit_people(),
    )
