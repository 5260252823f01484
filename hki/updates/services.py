"""Posting status updates: append-only, checked by the rules, never committed here."""

from __future__ import annotations

from datetime import date

from hki.auth.models import User
from hki.db import AnySession
from hki.plan.models import Measure
from hki.updates.models import StatusUpdate
from hki.updates.rules import CheckedUpdate, check_update
from hki.vocab import Status


class InvalidUpdateError(ValueError):
    """The update breaks a status rule; ``errors`` maps field names to German messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def post_update(
    session: AnySession,
    measure: Measure,
    author: User,
    *,
    as_of: date,
    status: Status,
    progress: int | None,
    note: str,
    previous: Status | None = None,
) -> StatusUpdate:
    """Append a status update to a measure's history.

    :raises InvalidUpdateError: if the values break the rules of ``status.md``.
    """
    checked: CheckedUpdate = check_update(
        status, progress, note, finite=measure.end_date is not None, previous=previous
    )
    if checked.errors:
        raise InvalidUpdateError(checked.errors)
    update = StatusUpdate(
        measure=measure, author=author, as_of=as_of, status=status,
        progress=checked.progress, note=note.strip(),
    )
    session.add(update)
    session.flush()
    return update
