"""Closed vocabularies of the domain: English codes in the database, German words on screen.

The codes and their meaning are defined in ``shared/domain/status.md``; colours and symbols
follow its section 4 (Okabe–Ito palette, never colour alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


class Status(StrEnum):
    """Umsetzungsstand of a measure on a date."""

    NOT_STARTED = "not_started"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELAYED = "delayed"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"
    DISCONTINUED = "discontinued"

    @property
    def look(self) -> StatusLook:
        """How the status is shown: word, symbol, short code and colours."""
        return STATUS_LOOKS[self]

    @property
    def label(self) -> LazyString:
        """The German word for the status."""
        return self.look.label


@dataclass(frozen=True)
class StatusLook:
    """Presentation of one status; colour is only ever an extra cue beside symbol and word."""

    label: LazyString
    symbol: str
    short: str
    fill: str
    text: str


STATUS_LOOKS: dict[Status, StatusLook] = {
    Status.NOT_STARTED: StatusLook(_l("nicht begonnen"), "○", "NB", "#999999", "#000000"),
    Status.PLANNED: StatusLook(_l("in Planung"), "◔", "IP", "#56B4E9", "#000000"),
    Status.IN_PROGRESS: StatusLook(_l("in Umsetzung"), "◑", "IU", "#0072B2", "#FFFFFF"),
    Status.DELAYED: StatusLook(_l("verzögert"), "▲", "VZ", "#D55E00", "#000000"),
    Status.ONGOING: StatusLook(_l("Daueraufgabe"), "↻", "DA", "#CC79A7", "#000000"),
    Status.COMPLETED: StatusLook(_l("abgeschlossen"), "✓", "AB", "#009E73", "#000000"),
    Status.ON_HOLD: StatusLook(_l("zurückgestellt"), "‖", "ZR", "#E69F00", "#000000"),
    Status.DISCONTINUED: StatusLook(_l("entfallen"), "✕", "EF", "#000000", "#FFFFFF"),
}


class LabelledEnum(StrEnum):
    """A code vocabulary whose German words live in :data:`LABELS`."""

    @property
    def label(self) -> LazyString:
        """The German word for the code.

        Looked up by vocabulary and code: members are strings, so PlanState.CLOSED and
        Outcome.CLOSED ("closed") are equal and would share one entry of a plain dict –
        the closed plan was labelled "abschließen".
        """
        return LABELS[(type(self), self.value)]


class Priority(LabelledEnum):
    """Political or administrative priority of a measure."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class PlanState(LabelledEnum):
    """Life cycle of a plan: drafted, adopted by the council, closed after its period."""

    DRAFT = "draft"
    ADOPTED = "adopted"
    CLOSED = "closed"


class Role(LabelledEnum):
    """What a user may do; the rules themselves live in ``hki.security``."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    OFFICE = "office"
    READER = "reader"


class Outcome(LabelledEnum):
    """What the Fortschreibung decided for a measure of the plan that ends."""

    CARRIED_OVER = "carried_over"
    CLOSED = "closed"
    DROPPED = "dropped"


class ReportKind(LabelledEnum):
    """A Sachstandsbericht for a Stichtag, or the Abschlussbericht of a plan that ends."""

    PROGRESS = "progress"
    FINAL = "final"


class Decision(LabelledEnum):
    """A coordinator's review of an office's update (Freigabe)."""

    ACCEPTED = "accepted"
    RETURNED = "returned"


_WORDS: tuple[tuple[LabelledEnum, LazyString], ...] = (
    (Priority.HIGH, _l("hoch")),
    (Priority.MEDIUM, _l("mittel")),
    (Priority.LOW, _l("niedrig")),
    (PlanState.DRAFT, _l("Entwurf")),
    (PlanState.ADOPTED, _l("beschlossen")),
    (PlanState.CLOSED, _l("abgeschlossen")),
    (Role.ADMIN, _l("Administration")),
    (Role.COORDINATOR, _l("Koordination (KMuT)")),
    (Role.OFFICE, _l("Fachstelle")),
    (Role.READER, _l("Lesezugriff")),
    (Outcome.CARRIED_OVER, _l("übernehmen")),
    (Outcome.CLOSED, _l("mit dem Plan beenden")),
    (Outcome.DROPPED, _l("entfallen lassen")),
    (ReportKind.PROGRESS, _l("Sachstandsbericht")),
    (ReportKind.FINAL, _l("Abschlussbericht")),
    (Decision.ACCEPTED, _l("freigegeben")),
    (Decision.RETURNED, _l("zurückgegeben")),
)
#: (vocabulary, code) → German word.
#: (A list of pairs, not a dict: equal codes of two vocabularies would collide as keys.)
LABELS: dict[tuple[type[LabelledEnum], str], LazyString] = {
    (type(member), member.value): word for member, word in _WORDS}
