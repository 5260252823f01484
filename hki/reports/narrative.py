"""The coordination's own words in a report: Vorbemerkung, Einschätzung, Ausblick, per field.

A council report is never only tables. The texts are written for a plan and Stichtag
(:class:`~hki.reports.models.ReportText`, changeable while drafting, shown in the preview)
and copied into the report when it is issued (``Report.narrative``), so an issued report
keeps the words it was issued with. Plain text: shown with paragraphs and lists by the
``absaetze`` filter, never as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from hki.auth.models import User
from hki.db import AnySession
from hki.reports.models import ReportText

#: Characters per text; a report's assessment is pages, not books.
TEXT_LIMIT = 20_000


@dataclass(frozen=True)
class Narrative:
    """The texts of one report; empty strings where nothing was written."""

    intro: str = ""
    assessment: str = ""
    outlook: str = ""
    #: Field id → the coordination's comment on that field of action.
    fields: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What ``Report.narrative`` stores (JSON keys are strings)."""
        return {"intro": self.intro, "assessment": self.assessment, "outlook": self.outlook,
                "fields": {str(k): v for k, v in self.fields.items() if v}}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Narrative:
        """Read what :meth:`as_json` wrote; ``None`` (reports issued before) is empty."""
        if not data:
            return cls()
        return cls(intro=data.get("intro", ""), assessment=data.get("assessment", ""),
                   outlook=data.get("outlook", ""),
                   fields={int(k): v for k, v in (data.get("fields") or {}).items()})


class NarrativeConflictError(ValueError):
    """Someone else saved the texts since they were loaded."""


def draft_text(session: AnySession, plan_id: int, stichtag: date) -> ReportText | None:
    """The texts being written for this plan and Stichtag, if any."""
    return session.scalars(select(ReportText).where(
        ReportText.plan_id == plan_id, ReportText.stichtag == stichtag)).one_or_none()


def draft_narrative(session: AnySession, plan_id: int, stichtag: date) -> Narrative:
    """The texts for this plan and Stichtag as a :class:`Narrative` (empty if none)."""
    text = draft_text(session, plan_id, stichtag)
    if text is None:
        return Narrative()
    return Narrative(text.intro, text.assessment, text.outlook,
                     {int(k): v for k, v in text.field_notes.items()})


def save_narrative(session: AnySession, plan_id: int, stichtag: date, user: User,
                   narrative: Narrative, loaded_version: int | None) -> ReportText:
    """Store the texts for this plan and Stichtag (in the caller's transaction).

    :param loaded_version: the version the form was loaded at; ``None`` for new texts.
    :raises NarrativeConflictError: if someone saved them in between.
    """
    text = draft_text(session, plan_id, stichtag)
    if text is None:
        if loaded_version is not None:
            raise NarrativeConflictError(_conflict())
        text = ReportText(plan_id=plan_id, stichtag=stichtag, updated_by=user)
        session.add(text)
    elif loaded_version != text.version:
        raise NarrativeConflictError(_conflict())
    text.intro, text.assessment, text.outlook = (
        narrative.intro.strip(), narrative.assessment.strip(), narrative.outlook.strip())
    text.field_notes = {str(k): v.strip() for k, v in narrative.fields.items() if v.strip()}
    text.updated_by = user
    session.flush()
    return text


def _conflict() -> str:
    return str(_("Jemand anderes hat die Texte inzwischen gespeichert. Ihre Eingaben stehen "
                 "noch im Formular; bitte vergleichen Sie mit der neuen Fassung und speichern "
                 "Sie erneut."))
