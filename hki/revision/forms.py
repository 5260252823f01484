"""Forms of the Fortschreibung: the successor's own data, and the council's adoption."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from hki.plan.forms import TEXT_MAX, DayField, check_period, plausible_day
from hki.plan.models import TITLE_LENGTH


class RevisionForm(FlaskForm):
    """Title, period and outline of the new plan (the measures' choices come beside it)."""

    title = StringField(_l("Titel des neuen Plans"), validators=[
        DataRequired(_l("Bitte geben Sie einen Titel ein.")),
        Length(max=TITLE_LENGTH, message=_l("Der Titel ist zu lang."))])
    valid_from = DayField(_l("Laufzeit von"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    valid_to = DayField(_l("Laufzeit bis"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=TEXT_MAX)])
    structure = TextAreaField(_l("Gliederung: Handlungsfelder und Ziele"), validators=[
        Length(max=50_000)])

    def validate_valid_to(self, field: DateField) -> None:
        """The period in order and of a plausible length."""
        check_period(self.valid_from.data, field.data)


class AdoptionForm(FlaskForm):
    """The council's decision on the new plan."""

    adopted_on = DayField(_l("Beschlossen am"), validators=[
        DataRequired(_l("Bitte geben Sie das Datum des Ratsbeschlusses ein.")), plausible_day])
    adoption_paper_ref = StringField(_l("Vorlagennummer des Beschlusses"), validators=[
        DataRequired(_l("Bitte geben Sie die Nummer der Beschlussvorlage ein.")),
        Length(max=100)])
