"""The form for posting a status update."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from hki.i18n import datum, local_today
from hki.plan.forms import DayField, GermanFloatField
from hki.plan.models import Indicator, IndicatorValue
from hki.updates.rules import check_update
from hki.updates.services import Measurement
from hki.vocab import Status

NOTE_MAX = 5000


def check_in_period(day: date | None, period: tuple[date, date] | None) -> None:
    """An answer in a round must describe a day of the round's period, or it answers nothing."""
    if day and period and not period[0] <= day <= period[1]:
        raise ValidationError(_l(
            "Für diese Abfrage muss der Sachstand einen Tag vom %(start)s bis %(end)s "
            "beschreiben.", start=datum(period[0]), end=datum(period[1])))


class UpdateForm(FlaskForm):
    """Date described, status, progress and note; the status rules come from ``rules``."""

    as_of = DayField(
        _l("Stand vom (Datum, das der Sachstand beschreibt)"), default=local_today,
        validators=[DataRequired(_l("Bitte geben Sie ein gültiges Datum ein (TT.MM.JJJJ)."))],
    )
    status = SelectField(_l("Umsetzungsstand"), choices=[(s.value, s.label) for s in Status],
                         validate_choice=True)
    progress = IntegerField(
        _l("Fortschritt in Prozent"),
        validators=[Optional(), NumberRange(0, 100, _l("Der Fortschritt liegt zwischen 0 und "
                                                       "100 %%."))],
    )
    note = TextAreaField(
        _l("Erläuterung"),
        validators=[Length(max=NOTE_MAX, message=_l("Die Erläuterung ist zu lang (höchstens "
                                                    "%(max)d Zeichen).", max=NOTE_MAX))],
    )

    def __init__(self, *args: Any, finite: bool, previous: Status | None,
                 period: tuple[date, date] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finite = finite
        self._previous = previous
        self._period = period

    def validate(self, extra_validators: Any = None) -> bool:
        """Run the field checks, then the status rules, so all problems show at once."""
        valid: bool = super().validate(extra_validators)
        if self.status.errors:
            return False
        progress = None if self.progress.errors else self.progress.data
        checked = check_update(
            Status(self.status.data), progress, self.note.data or "",
            finite=self._finite, previous=self._previous,
        )
        for name, message in checked.errors.items():
            if not self[name].errors:  # one message per field: the first problem found
                self[name].errors = [message]
        return valid and not checked.errors

    def validate_as_of(self, field: DateField) -> None:
        """Refuse dates after today (Berlin time), and outside the round's period."""
        if field.data and field.data > local_today():
            raise ValidationError(_l("Das Datum liegt in der Zukunft. Ein Sachstand beschreibt "
                                     "einen Tag bis heute."))
        check_in_period(field.data, self._period)


def _date_field(label: Any) -> DayField:
    return DayField(label, validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein (TT.MM.JJJJ)."))])


class RoundForm(FlaskForm):
    """Open a round: what it asks about (period up to the Stichtag) and by when."""

    title = StringField(_l("Bezeichnung"), validators=[
        DataRequired(_l("Bitte geben Sie eine Bezeichnung an, "
                        "z. B. „Sachstand 2. Halbjahr 2026“.")),
        Length(max=200, message=_l("Die Bezeichnung ist zu lang (höchstens 200 Zeichen)."))])
    period_start = _date_field(_l("Zeitraum ab"))
    stichtag = _date_field(_l("Stichtag"))
    due_date = _date_field(_l("Antwortfrist"))

    def validate_stichtag(self, field: DateField) -> None:
        """The period must not end before it starts."""
        if field.data and self.period_start.data and field.data < self.period_start.data:
            raise ValidationError(_l("Der Stichtag liegt vor dem Beginn des Zeitraums. Bitte "
                                     "prüfen Sie die Angaben."))

    def validate_due_date(self, field: DateField) -> None:
        """A deadline in the past would make every office late at once."""
        if field.data and field.data < local_today():
            raise ValidationError(_l("Die Frist liegt in der Vergangenheit. Bitte wählen Sie "
                                     "heute oder einen späteren Tag."))


class ReturnForm(FlaskForm):
    """Return an office's update with a comment it will see."""

    comment = TextAreaField(_l("Hinweis an die Fachstelle"), validators=[
        DataRequired(_l("Bitte schreiben Sie der Fachstelle, was sie ändern soll.")),
        Length(max=NOTE_MAX, message=_l("Der Hinweis ist zu lang (höchstens %(max)d Zeichen).",
                                        max=NOTE_MAX))])


class IndicatorValueForm(Form):
    """A new value of one indicator, given with the update (all optional)."""

    value = GermanFloatField(_l("Neuer Wert"), validators=[Optional()])
    as_of = DayField(_l("gemessen am"), validators=[Optional()])
    source = StringField(_l("Quelle"), validators=[
        Length(max=300, message=_l("Die Quelle ist zu lang (höchstens 300 Zeichen)."))])

    def validate_as_of(self, field: DateField) -> None:
        """A measurement describes a day up to today."""
        if field.data and field.data > local_today():
            raise ValidationError(_l("Das Datum liegt in der Zukunft."))


def update_form(indicators: list[Indicator]) -> type[UpdateForm]:
    """The update form with one row of inputs per active indicator of the measure."""

    class _Form(UpdateForm):
        values = FieldList(FormField(IndicatorValueForm), min_entries=len(indicators),
                           max_entries=len(indicators))

        def measurements(self) -> list[Measurement]:
            """The values entered, each dated (by default with the update's date)."""
            return [
                Measurement(indicator=indicator, value=row.value.data,
                            as_of=row.as_of.data or cast(date, self.as_of.data),
                            source=row.source.data or "")
                for indicator, row in zip(indicators, (e.form for e in self.values),
                                          strict=False)
                if row.value.data is not None
            ]

        def fill_values(self, given: list[IndicatorValue]) -> None:
            """Show values given with an earlier update (returned, or being corrected)."""
            rows = {i.id: e.form for i, e in zip(indicators, self.values, strict=False)}
            for value in given:
                row = rows.get(value.indicator_id)
                if row is not None:
                    row.value.data, row.source.data = value.value, value.source
                    row.as_of.data = value.as_of

    return _Form


class BulkForm(FlaskForm):
    """The date all entered answers describe (plus the CSRF token)."""

    as_of = DayField(_l("Stand vom (für alle Zeilen)"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein (TT.MM.JJJJ)."))])

    def __init__(self, *args: Any, period: tuple[date, date], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._period = period

    def validate_as_of(self, field: DateField) -> None:
        """A status update describes a day up to today, within the round's period."""
        if field.data and field.data > local_today():
            raise ValidationError(_l("Das Datum liegt in der Zukunft. Ein Sachstand "
                                     "beschreibt einen Tag bis heute."))
        check_in_period(field.data, self._period)
