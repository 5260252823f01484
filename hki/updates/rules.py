"""The rules of ``status.md`` for a status update, in one place.

Forms, imports and services all call :func:`check_update`; each problem comes back as a
German sentence for the field it concerns, saying what is wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from hki.vocab import Status

#: Statuses after which a measure is finished as a plan item (reopening needs a reason).
TERMINAL = frozenset({Status.COMPLETED, Status.ONGOING, Status.DISCONTINUED})
#: Statuses that always need a reason in the note.
NEEDS_REASON = frozenset({Status.DELAYED, Status.ON_HOLD, Status.DISCONTINUED})
#: Allowed progress range per status; ``None`` in the tuple means "no percentage at all".
PROGRESS_RANGE: dict[Status, tuple[int, int] | None] = {
    Status.NOT_STARTED: (0, 0),
    Status.PLANNED: (0, 20),
    Status.IN_PROGRESS: (1, 99),
    Status.DELAYED: (0, 99),
    Status.ONGOING: None,
    Status.COMPLETED: (100, 100),
    Status.ON_HOLD: (0, 99),
    Status.DISCONTINUED: (0, 99),
}


@dataclass(frozen=True)
class CheckedUpdate:
    """The values to store (progress normalised) and the problems found, by field."""

    progress: int | None
    errors: dict[str, str]


def check_update(
    status: Status,
    progress: int | None,
    note: str,
    *,
    finite: bool,
    previous: Status | None = None,
) -> CheckedUpdate:
    """Check an update against the status rules and normalise its progress.

    :param finite: the measure has a planned end date (not *fortlaufend*).
    :param previous: the measure's current status, to catch changes of a finished measure.
    """
    errors: dict[str, str] = {}
    label = str(status.label)
    allowed = PROGRESS_RANGE[status]
    if status is Status.NOT_STARTED and progress is None:
        progress = 0
    if status is Status.COMPLETED and progress is None:
        progress = 100
    if allowed is None:
        if progress is not None:
            errors["progress"] = _(
                "Eine Daueraufgabe hat keinen Prozentwert. Bitte lassen Sie das Feld leer; "
                "den Stand beschreiben Sie im Text oder über Indikatoren."
            )
    elif progress is not None and not allowed[0] <= progress <= allowed[1]:
        if status is Status.IN_PROGRESS and progress == 100:
            errors["progress"] = _("100 % bedeutet umgesetzt: Bitte wählen Sie den Status "
                                   "„abgeschlossen“.")
        else:
            errors["progress"] = _(
                "Bei „%(status)s“ liegt der Fortschritt zwischen %(low)d und %(high)d %%.",
                status=label, low=allowed[0], high=allowed[1],
            )
    elif progress is None and status is Status.IN_PROGRESS and finite:
        errors["progress"] = _("Bitte geben Sie den Fortschritt in Prozent an (1 bis 99).")
    if not note.strip():
        if status in NEEDS_REASON:
            errors["note"] = _("Bei „%(status)s“ ist eine Begründung nötig. Bitte beschreiben "
                               "Sie kurz den Grund.", status=label)
        elif previous in TERMINAL and status is not previous:
            errors["note"] = _("Die Maßnahme war bereits „%(previous)s“. Bitte begründen Sie "
                               "die Änderung.", previous=str(previous.label))
    return CheckedUpdate(progress=progress, errors=errors)
