"""The form for posting a status update."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from hki.i18n import local_today
from hki.updates.rules import check_update
from hki.vocab import Status

NOTE_MAX = 5000


class UpdateForm(FlaskForm):
    """Date described, status, progress and note; the status rules come from ``rules``."""

    as_of = DateField(
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

    def __init__(self, *args: Any, finite: bool, previous: Status | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finite = finite
        self._previous = previous

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
        """Refuse dates after today (Berlin time)."""
        if field.data and field.data > local_today():
            raise ValidationError(_l("Das Datum liegt in der Zukunft. Ein Sachstand beschreibt "
                                     "einen Tag bis heute."))
