"""Forms for login and the administration of users and organisations."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from hki.auth.models import User
from hki.auth.services import normalise_email
from hki.extensions import db
from hki.plan.models import Organisation
from hki.security import MIN_PASSWORD_LENGTH
from hki.vocab import Role

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NO_ORGANISATION = 0


def _email_field() -> StringField:
    return StringField(
        _l("E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte geben Sie eine E-Mail-Adresse ein.")),
            Length(max=254, message=_l("Die E-Mail-Adresse ist zu lang (höchstens 254 Zeichen).")),
            Regexp(EMAIL_PATTERN, message=_l("Bitte geben Sie eine gültige E-Mail-Adresse ein, "
                                             "z. B. name@stadt.de.")),
        ],
    )


class LoginForm(FlaskForm):
    """E-mail and password; the error never says which of the two was wrong."""

    email = StringField(_l("E-Mail-Adresse"), validators=[
        DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")), Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[
        DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")), Length(max=1000)])


def _password_field(required: bool) -> PasswordField:
    first = DataRequired(_l("Bitte vergeben Sie ein Passwort.")) if required else Optional()
    return PasswordField(
        _l("Passwort") if required else _l("Neues Passwort (leer lassen, um es zu behalten)"),
        validators=[
            first,
            Length(min=MIN_PASSWORD_LENGTH, max=1000,
                   message=_l("Das Passwort muss mindestens %(n)d Zeichen lang sein.",
                              n=MIN_PASSWORD_LENGTH)),
        ],
    )


class _UserFields(FlaskForm):
    display_name = StringField(_l("Name (wird als Verfasser angezeigt)"), validators=[
        DataRequired(_l("Bitte geben Sie einen Namen ein.")),
        Length(max=200, message=_l("Der Name ist zu lang (höchstens 200 Zeichen)."))])
    role = SelectField(_l("Rolle"), choices=[(r.value, r.label) for r in Role],
                       validate_choice=True)
    organisation_id = SelectField(_l("Organisation"), coerce=int, validate_choice=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisations = db.session.scalars(
            select(Organisation).where(Organisation.is_active).order_by(Organisation.name)
        )
        self.organisation_id.choices = [(NO_ORGANISATION, _l("– keine –"))] + [
            (o.id, o.name) for o in organisations
        ]

    def validate_organisation_id(self, field: SelectField) -> None:
        """An office account must belong to an organisation."""
        if self.role.data == Role.OFFICE.value and field.data == NO_ORGANISATION:
            raise ValidationError(_l("Eine Fachstelle braucht eine Organisation: Sie meldet "
                                     "für die Maßnahmen, die diese Organisation federführend "
                                     "verantwortet."))


class UserCreateForm(_UserFields):
    """A new account; the e-mail address must not be taken yet."""

    email = _email_field()
    password = _password_field(required=True)

    def validate_email(self, field: StringField) -> None:
        """Refuse an address that already has an account, or that lower case lengthens."""
        email = normalise_email(field.data or "")
        if len(email) > 254:  # "İ".lower() has two characters
            raise ValidationError(_l("Die E-Mail-Adresse ist zu lang (höchstens 254 Zeichen)."))
        taken = db.session.scalar(select(User.id).where(func.lower(User.email) == email))
        if taken is not None:
            raise ValidationError(_l("Für diese E-Mail-Adresse gibt es bereits ein Konto."))


class UserEditForm(_UserFields):
    """Change name, role, organisation, activity and optionally the password."""

    is_active = BooleanField(_l("Konto ist aktiv (deaktivierte Konten können sich nicht "
                                "anmelden)"))
    password = _password_field(required=False)


class OrganisationForm(FlaskForm):
    """Name of a new or renamed organisation; names are unique."""

    name = StringField(_l("Name der Organisation"), validators=[
        DataRequired(_l("Bitte geben Sie einen Namen ein.")),
        Length(max=200, message=_l("Der Name ist zu lang (höchstens 200 Zeichen)."))])

    def __init__(self, *args: Any, current_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current_id = current_id

    def validate_name(self, field: StringField) -> None:
        """Refuse a name another organisation has (ignoring case).

        Compared in Python: SQLite's lower() folds only ASCII, PostgreSQL's differs from
        Python's beyond it ("İ"), and there are only a few hundred organisations.
        """
        wanted = (field.data or "").strip().casefold()
        clash = next((i for i, name in db.session.execute(
            select(Organisation.id, Organisation.name)) if name.casefold() == wanted), None)
        if clash is not None and clash != self._current_id:
            raise ValidationError(_l("Eine Organisation mit diesem Namen gibt es bereits."))


class OrganisationEditForm(OrganisationForm):
    """Rename and (de)activate an organisation."""

    is_active = BooleanField(_l("Organisation ist aktiv (nur aktive Organisationen können "
                                "neuen Konten zugeordnet werden)"))
