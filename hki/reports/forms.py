"""The form for the coordination's texts of a report (hki.reports.narrative)."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length

from hki.plan.forms import VersionedForm
from hki.plan.history import FieldAsOf
from hki.reports.narrative import TEXT_LIMIT, Narrative


def _text(label: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Length(max=TEXT_LIMIT, message=_l(
        "Der Text ist zu lang (höchstens %(n)d Zeichen).", n=TEXT_LIMIT))])


class NarrativeForm(VersionedForm):
    """Vorbemerkung, Einschätzung, Ausblick; :func:`narrative_form` adds one per field."""

    intro = _text(_l("Vorbemerkung"))
    assessment = _text(_l("Einschätzung der Koordinierungsstelle"))
    outlook = _text(_l("Ausblick"))
    #: (field id, input name) of the per-field comments, in outline order.
    field_inputs: ClassVar[tuple[tuple[int, str], ...]] = ()

    def narrative(self) -> Narrative:
        """What was typed, as a :class:`Narrative`."""
        return Narrative(self.intro.data or "", self.assessment.data or "",
                         self.outlook.data or "",
                         {fid: self[name].data or "" for fid, name in self.field_inputs})

    def fill(self, narrative: Narrative) -> None:
        """Show the stored texts."""
        self.intro.data, self.assessment.data = narrative.intro, narrative.assessment
        self.outlook.data = narrative.outlook
        for fid, name in self.field_inputs:
            self[name].data = narrative.fields.get(fid, "")


def narrative_form(fields: tuple[FieldAsOf, ...]) -> type[NarrativeForm]:
    """The form with a comment box for each field of action of the plan at the Stichtag."""

    class _Form(NarrativeForm):
        pass

    _Form.field_inputs = tuple((f.id, f"feld_{f.id}") for f in fields)
    for f in fields:
        setattr(_Form, f"feld_{f.id}", _text(_l("Handlungsfeld %(n)s: %(t)s", n=f.number,
                                                t=f.title)))
    return _Form
