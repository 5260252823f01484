"""Bulk entry: a coordinator types in several answers received by mail, saved all or nothing.

Each row is checked with the same status rules as the single form (``rules``); one bad
row keeps the whole table unsaved and shows its message in that row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from hki.auth.models import User
from hki.db import AnySession
from hki.plan.forms import parse_german_float
from hki.plan.models import Indicator
from hki.updates.forms import NOTE_MAX
from hki.updates.models import StatusUpdate
from hki.updates.rounds import RoundMeasure
from hki.updates.rules import check_update
from hki.updates.services import Measurement, post_update
from hki.vocab import Status


@dataclass
class BulkEntry:
    """One row: a measure, what was typed for it and what is wrong with it."""

    row: RoundMeasure
    status: str = ""
    progress: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    checked_progress: int | None = None
    #: The measure's status that counts now (the rules depend on it).
    previous: Status | None = None
    #: Indicator id → the value typed for it (German notation), and the values read.
    values: dict[int, str] = field(default_factory=dict)
    measured: dict[int, float] = field(default_factory=dict)

    @property
    def indicators(self) -> list[Indicator]:
        """The measure's active indicators: one value input each."""
        return [i for i in self.row.measure.indicators if i.archived_at is None]

    @property
    def chosen(self) -> bool:
        """A row without a status is left out."""
        return bool(self.status)


def bulk_rows(
    rows: list[RoundMeasure], current: Mapping[int, StatusUpdate], data: Mapping[str, str] | None
) -> list[BulkEntry]:
    """The table's rows, with posted values checked when there are any.

    :param current: each measure's update that counts now (``current_updates``).
    """
    entries = [BulkEntry(row=r, previous=current[r.measure.id].status
                         if r.measure.id in current else None) for r in rows]
    if data is None:
        return entries
    for entry in entries:
        key = entry.row.measure.id
        entry.status = data.get(f"status-{key}", "")
        entry.progress = data.get(f"progress-{key}", "").strip()
        entry.note = data.get(f"note-{key}", "")
        entry.values = {i.id: data.get(f"value-{i.id}", "").strip() for i in entry.indicators}
        if entry.chosen:
            _check(entry)
        elif any(entry.values.values()):
            entry.errors["status"] = _("Ein Indikatorwert braucht einen Sachstand: bitte "
                                       "wählen Sie den Umsetzungsstand.")
    return entries


def _check(entry: BulkEntry) -> None:
    if entry.status not in {s.value for s in Status}:
        entry.errors["status"] = _("Bitte wählen Sie einen Umsetzungsstand aus der Liste.")
        return
    progress = None
    if entry.progress:
        raw = entry.progress
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or int(raw) > 100:
            entry.errors["progress"] = _("Der Fortschritt ist eine ganze Zahl von 0 bis 100.")
            return
        progress = int(entry.progress)
    if len(entry.note) > NOTE_MAX:
        entry.errors["note"] = _("Die Erläuterung ist zu lang (höchstens %(max)d Zeichen).",
                                 max=NOTE_MAX)
        return
    checked = check_update(Status(entry.status), progress, entry.note,
                           finite=entry.row.measure.end_date is not None,
                           previous=entry.previous)
    entry.errors.update(checked.errors)
    entry.checked_progress = checked.progress
    for indicator_id, raw in entry.values.items():
        if not raw:
            continue
        value = parse_german_float(raw)
        if value is None:
            entry.errors["values"] = _("„%(value)s“ ist keine Zahl. Bitte schreiben Sie z. B. "
                                       "1.250 oder 12,5.", value=raw[:20])
        else:
            entry.measured[indicator_id] = value


def save_bulk(session: AnySession, entries: list[BulkEntry], author: User, as_of: date) -> int:
    """Post every chosen row (all rows already checked); returns how many were saved."""
    chosen = [e for e in entries if e.chosen]
    for entry in chosen:
        by_id = {i.id: i for i in entry.indicators}
        post_update(session, entry.row.measure, author, as_of=as_of,
                    status=Status(entry.status), progress=entry.checked_progress,
                    note=entry.note, previous=entry.previous,
                    measurements=[Measurement(by_id[i], value, as_of)
                                  for i, value in entry.measured.items()])
    return len(chosen)
