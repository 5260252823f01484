"""Forms of the Fortschreibung: the successor's own data, merging, end dates, adoption."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from hki.i18n import ascii_int, local_today
from hki.plan.forms import TEXT_MAX, DayField, check_period, plausible_day
from hki.plan.models import TITLE_LENGTH


class RevisionForm(FlaskForm):
    """Title and period of the new plan: the first step, which stores the draft."""

    title = StringField(_l("Titel des neuen Plans"), validators=[
        DataRequired(_l("Bitte geben Sie einen Titel ein.")),
        Length(max=TITLE_LENGTH, message=_l("Der Titel ist zu lang."))])
    valid_from = DayField(_l("Laufzeit von"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    valid_to = DayField(_l("Laufzeit bis"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=TEXT_MAX)])

    def validate_valid_to(self, field: DateField) -> None:
        """The period in order and of a plausible length."""
        check_period(self.valid_from.data, field.data)


def _id(value: object) -> int:
    """A row id from a form: ASCII digits, else 0 (found nowhere)."""
    return ascii_int(str(value)) or 0


class MergeForm(FlaskForm):
    """Merge one field or goal of the draft into another (choices set by the view)."""

    kind = SelectField(choices=[("feld", "feld"), ("ziel", "ziel")])
    source = SelectField(_l("Zusammenführen"), coerce=_id, validate_choice=False)
    into = SelectField(_l("mit"), coerce=_id, validate_choice=False)


class EndDateForm(FlaskForm):
    """One new end for all carried-over measures that end before the new plan starts."""

    end_date = DayField(_l("Neues Ende"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])


class AdoptionForm(FlaskForm):
    """The council's decision on the new plan."""

    adopted_on = DayField(_l("Beschlossen am"), validators=[
        DataRequired(_l("Bitte geben Sie das Datum des Ratsbeschlusses ein.")), plausible_day])

    def validate_adopted_on(self, field: DateField) -> None:
        """A decision is recorded once it is taken: it closes the old plan at once."""
        if field.data is not None and field.data > local_today():
            raise ValidationError(_l("Der Beschluss liegt in der Zukunft. Bitte erfassen Sie "
                                     "ihn, wenn der Rat entschieden hat; bis dahin bleibt "
                                     "der bisherige Plan offen."))
    adoption_paper_ref = StringField(_l("Vorlagennummer des Beschlusses"), validators=[
        DataRequired(_l("Bitte geben Sie die Nummer der Beschlussvorlage ein.")),
        Length(max=100)])


#: What a committee does with the plan (a drop-down; the words of council papers).
PURPOSES = ["Vorberatung", "Anhörung", "Beschlussempfehlung", "Beschluss", "Kenntnisnahme"]


class StageForm(FlaskForm):
    """One committee meeting on the way to the council's decision."""

    body = StringField(_l("Gremium"), validators=[
        DataRequired(_l("Bitte nennen Sie das Gremium, z. B. Jugendhilfeausschuss.")),
        Length(max=200)])
    purpose = SelectField(_l("Beratung"), choices=[(p, p) for p in PURPOSES])
    meeting_on = DayField(_l("Sitzung am"), validators=[
        DataRequired(_l("Bitte geben Sie das Datum der Sitzung ein.")), plausible_day])
    paper_ref = StringField(_l("Vorlage"), validators=[Length(max=100)])
    result = StringField(_l("Ergebnis"), validators=[Length(max=300)])


class QueryForm(FlaskForm):
    """Open the Fortschreibungsabfrage (or move its due date)."""

    due_date = DayField(_l("Frist für die Vorschläge"), validators=[
        DataRequired(_l("Bitte geben Sie eine Frist ein.")), plausible_day])


class ShareForm(FlaskForm):
    """A read-only link to the draft for people without an account."""

    label = StringField(_l("Für wen"), validators=[
        DataRequired(_l("Bitte nennen Sie, für wen der Link ist.")), Length(max=200)])
    expires_on = DayField(_l("Gültig bis"), validators=[
        DataRequired(_l("Bitte geben Sie ein Datum ein.")), plausible_day])
