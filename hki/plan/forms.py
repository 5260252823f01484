"""Forms for keeping the plan: plan, fields, goals, measures, indicators, moves.

Every form carries the version it was loaded at (optimistic locking) and explains each
problem in German at the field. Database checks (unique numbers) run here too, so that a
violation is a message, never an error page.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from hki.extensions import db
from hki.i18n import FIRST_YEAR, LAST_YEAR, parse_day
from hki.plan.models import TITLE_LENGTH, Field, Goal, Measure, Organisation
from hki.vocab import PlanState, Priority

NUMBER_PATTERN = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){0,2}$")
TEXT_MAX = 5000


class DayField(DateField):
    """A date field that takes what people type (TT.MM.JJJJ) and the browser's date input.

    Rendered as ``<input type="date">`` with an ISO value; a browser without a date picker
    (or a person typing into it) sends 31.12.2026, which WTForms' own field refuses.
    """

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read TT.MM.JJJJ or JJJJ-MM-TT; anything else is one German message."""
        if not valuelist:
            return
        written = " ".join(str(v) for v in valuelist).strip()
        self.data = parse_day(written) if written else None
        if written and self.data is None:
            raise ValueError(_l("„%(value)s“ ist kein gültiges Datum. Bitte schreiben Sie "
                                "TT.MM.JJJJ, z. B. 31.12.2026, mit einem Jahr zwischen "
                                "%(first)d und %(last)d.", value=written[:20],
                                first=FIRST_YEAR, last=LAST_YEAR))

    def pre_validate(self, form: Any) -> None:
        """A date that could not be read needs no second message ("fehlt")."""
        if self.process_errors:
            raise StopValidation()


def _required(what: str) -> DataRequired:
    return DataRequired(_l("Bitte geben Sie %(what)s an.", what=what))


def _title_field() -> StringField:
    return StringField(_l("Titel"), validators=[
        _required(_l("einen Titel")),
        Length(max=TITLE_LENGTH, message=_l("Der Titel ist zu lang (höchstens %(n)d Zeichen).",
                                            n=TITLE_LENGTH))])


def _text_field(label: Any, limit: int = TEXT_MAX) -> TextAreaField:
    return TextAreaField(label, validators=[
        Length(max=limit, message=_l("Der Text ist zu lang (höchstens %(n)d Zeichen).",
                                     n=limit))])


def _number_field(example: str) -> StringField:
    return StringField(_l("Nummer"), validators=[
        _required(_l("eine Nummer")),
        Length(max=20, message=_l("Die Nummer ist zu lang.")),
    ], description=_l("Gliederungsnummer, z. B. %(example)s", example=example))


_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def parse_german_float(written: str) -> float | None:
    """Read 1.234,5 or 1234,5 or 1.250 (German) or 1234.5; ``None`` for anything else.

    Dots in groups of three digits (1.250, 1.234.567) separate thousands, as in German.
    """
    raw = written.strip().replace(" ", "").replace("\u00a0", "")
    if "," in raw or _THOUSANDS.match(raw):
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value or abs(value) > 1e12:  # NaN or absurd
        return None
    return value


class GermanFloatField(FloatField):
    """A number that may be typed the German way: 1.234,5 or 1234,5 or 1234.5."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse German and international notation; refuse anything else with a message."""
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_german_float(str(valuelist[0]))
        if self.data is None:
            raise ValueError(_l("Bitte geben Sie eine Zahl ein, z. B. 1.250 oder 12,5."))

    def _value(self) -> str:
        """A number shown in the form as it is typed back: 870, 12,5 (no thousands dot)."""
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return f"{self.data:.10g}".replace(".", ",")


class VersionedForm(FlaskForm):
    """Carries the version of the object the form was filled from."""

    version = HiddenField()

    def loaded_version(self) -> int | None:
        """The version the user saw, or ``None`` if it was tampered with."""
        raw = self.version.data
        # isdigit() also accepts "²"; int() refuses that and numbers of thousands of digits.
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9:
            return int(raw)
        return None


class _NumberedForm(VersionedForm):
    """Number, title and description of a plan node, number unique among active siblings.

    :param parent_number: the parent's number that the node's number must start with.
    :param siblings: a select of the active sibling nodes' (id, number).
    :param own_id: the node's own id when editing.
    """

    title = _title_field()
    description = _text_field(_l("Beschreibung"))

    def __init__(self, *args: Any, parent_number: str | None = None,
                 taken: dict[str, int] | None = None, own_id: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parent_number = parent_number
        self._taken = taken or {}
        self._own_id = own_id

    def validate_number(self, field: StringField) -> None:
        """Check the number's form, its prefix and that no active sibling has it."""
        number = (field.data or "").strip()
        field.data = number
        if not NUMBER_PATTERN.match(number):
            raise ValidationError(_l("Bitte geben Sie eine Gliederungsnummer aus Ziffern und "
                                     "Punkten ein, z. B. 3 oder 3.2 oder 3.2.1."))
        if self._parent_number and not number.startswith(self._parent_number + "."):
            raise ValidationError(_l("Die Nummer muss mit %(prefix)s beginnen.",
                                     prefix=self._parent_number + "."))
        expected_depth = 0 if self._parent_number is None else self._parent_number.count(".") + 1
        if number.count(".") != expected_depth:
            raise ValidationError(_l("Die Nummer hat die falsche Tiefe für diese Ebene."))
        holder = self._taken.get(number)
        if holder is not None and holder != self._own_id:
            raise ValidationError(_l("Die Nummer %(number)s ist hier schon vergeben.",
                                     number=number))


class FieldForm(_NumberedForm):
    """A Handlungsfeld."""

    number = _number_field("3")


class GoalForm(_NumberedForm):
    """A Ziel."""

    number = _number_field("3.2")


def taken_numbers(
    model: type[Field] | type[Goal] | type[Measure], parent_id: int
) -> dict[str, int]:
    """Number → id of the active nodes under a parent."""
    parent = {Field: Field.plan_id, Goal: Goal.field_id, Measure: Measure.goal_id}[model]
    rows = db.session.execute(
        select(model.number, model.id).where(parent == parent_id, model.archived_at.is_(None))
    )
    return {number: node_id for number, node_id in rows}


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes: a plain click cannot drop the others.

    A multi-select box replaces every chosen entry on an ordinary click (only Ctrl+click
    adds one); with 80 organisations that loses partners without anyone noticing.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeasureForm(_NumberedForm):
    """A Maßnahme with lead, partners, target groups, timeframe, priority and money."""

    number = _number_field("3.2.1")
    lead_organisation_id = SelectField(_l("Federführung"), coerce=int, validate_choice=True)
    partner_ids = MultiCheckboxField(_l("Kooperationspartner"), coerce=int,
                                     validate_choice=True)
    target_groups = StringField(_l("Zielgruppen"), validators=[Length(max=1000)],
                                description=_l("Mehrere durch Komma trennen, z. B. "
                                               "Neuzugewanderte, Eltern"))
    start_date = DayField(_l("Beginn"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum für den Beginn ein."))])
    end_date = DayField(_l("Ende"), validators=[Optional()],
                         description=_l("Leer lassen, wenn die Maßnahme fortlaufend ist."))
    priority = SelectField(_l("Priorität"), choices=[(p.value, p.label) for p in Priority],
                           validate_choice=True)
    funding_note = _text_field(_l("Finanzierung (Hinweis)"), 2000)
    budget_eur = IntegerField(_l("Budget in Euro"), validators=[
        # The column is a 32-bit integer on PostgreSQL.
        Optional(), NumberRange(0, 2**31 - 1, _l("Bitte geben Sie einen Betrag zwischen 0 und "
                                                 "2.147.483.647 Euro ein."))])

    def __init__(self, *args: Any, current_lead_id: int | None = None,
                 current_partner_ids: tuple[int, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = {current_lead_id, *current_partner_ids} - {None}
        organisations = db.session.scalars(
            select(Organisation)
            .where(Organisation.is_active | Organisation.id.in_(keep))
            .order_by(func.lower(Organisation.name))
        )
        choices = [(o.id, o.name) for o in organisations]
        self.lead_organisation_id.choices = choices
        # The measure's partners first, so that what is chosen is seen at once.
        self.partner_ids.choices = sorted(choices,
                                          key=lambda c: c[0] not in current_partner_ids)

    def validate_end_date(self, field: DateField) -> None:
        """The end must not lie before the start."""
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("Das Enddatum liegt vor dem Beginn. Bitte prüfen Sie "
                                     "die Angaben."))

    def validate_target_groups(self, field: StringField) -> None:
        """Each target group name must fit the database."""
        if any(len(name) > 200 for name in self.target_group_names()):
            raise ValidationError(_l("Ein Zielgruppenname ist zu lang (höchstens 200 Zeichen)."))

    def target_group_names(self) -> list[str]:
        """The comma-separated target groups as a clean list without duplicates."""
        raw = self.target_groups.data or ""
        if not isinstance(raw, str):  # field not posted: WTForms keeps the measure's groups
            raw = ", ".join(group.name for group in raw)
        names: dict[str, str] = {}
        for name in (t.strip() for t in raw.split(",")):
            if name:
                names.setdefault(name.lower(), name)
        return list(names.values())


class IndicatorForm(VersionedForm):
    """An indicator with baseline and target."""

    name = StringField(_l("Bezeichnung"), validators=[
        _required(_l("eine Bezeichnung")),
        Length(max=TITLE_LENGTH, message=_l("Die Bezeichnung ist zu lang."))])
    unit = StringField(_l("Einheit"), validators=[Length(max=100)],
                       description=_l("z. B. Anzahl, Prozent, Teilnehmende"))
    baseline_value = GermanFloatField(_l("Ausgangswert"), validators=[Optional()])
    baseline_date = DayField(_l("Ausgangswert vom"), validators=[Optional()])
    target_value = GermanFloatField(_l("Zielwert"), validators=[Optional()])
    target_date = DayField(_l("Zielwert bis"), validators=[Optional()])
    data_source = StringField(_l("Datenquelle"), validators=[Length(max=300)],
                              description=_l("z. B. Integrationsmonitoring Niedersachsen"))

    def validate_target_date(self, field: DateField) -> None:
        """The target date must not lie before the baseline date."""
        if field.data and self.baseline_date.data and field.data < self.baseline_date.data:
            raise ValidationError(_l("Das Zieldatum liegt vor dem Datum des Ausgangswerts."))


#: Longest plan period accepted, in years.
MAX_PERIOD_YEARS = 30


def plausible_day(form: Any, field: Any) -> None:
    """A WTForms validator: the date's year lies between 1900 and 2200."""
    if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_l("Bitte geben Sie ein Datum zwischen %(first)d und %(last)d "
                                 "ein.", first=FIRST_YEAR, last=LAST_YEAR))


def check_period(start: Any, end: Any) -> None:
    """A plan's period: in order, and not longer than ``MAX_PERIOD_YEARS``."""
    if start and end and end < start:
        raise ValidationError(_l("Das Ende der Laufzeit liegt vor ihrem Beginn."))
    if start and end and end.year - start.year > MAX_PERIOD_YEARS:
        raise ValidationError(_l("Die Laufzeit ist länger als %(n)d Jahre; bitte prüfen Sie "
                                 "die Daten.", n=MAX_PERIOD_YEARS))


class PlanForm(VersionedForm):
    """The plan's own data: title, period, adoption."""

    title = _title_field()
    city = StringField(_l("Kommune"), validators=[_required(_l("die Kommune")),
                                                   Length(max=200)])
    owner_unit = StringField(_l("Herausgeber (Koordinierungsstelle)"),
                             validators=[Length(max=300)])
    description = _text_field(_l("Beschreibung"))
    valid_from = DayField(_l("Laufzeit von"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    valid_to = DayField(_l("Laufzeit bis"), validators=[
        DataRequired(_l("Bitte geben Sie ein gültiges Datum ein.")), plausible_day])
    state = SelectField(_l("Stand des Plans"), choices=[(s.value, s.label) for s in PlanState],
                        validate_choice=True)
    adopted_on = DayField(_l("Beschlossen am"), validators=[Optional(), plausible_day])
    adoption_paper_ref = StringField(_l("Vorlagennummer des Beschlusses"),
                                     validators=[Length(max=100)])

    def validate_valid_to(self, field: DateField) -> None:
        """The period in order and of a plausible length."""
        check_period(self.valid_from.data, field.data)


class MoveForm(FlaskForm):
    """Choose the goal a measure moves to."""

    goal_id = SelectField(_l("Neues Ziel"), coerce=int, validate_choice=True)


class RenumberForm(FlaskForm):
    """Confirms a previewed renumbering; the fingerprint names the preview."""

    fingerprint = HiddenField()
