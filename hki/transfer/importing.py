"""Import a plan and status answers from a workbook: check everything, then write it all.

:func:`check_import` reads the file and compares it with the database without changing
anything; its result lists every problem (sheet, row, column, what is wrong) and every
change the import would make. :func:`apply_import` writes those changes in the caller's
transaction, only if nothing blocks. The CLI, the web page and the tests use both.

Matching: the plan by its title (Konzept sheet); fields, goals and measures by number
within their parent; indicators by name within their measure. Rows already in hki with
the same values change nothing, so a file can be imported twice.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from flask_babel import gettext as _
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hki.auth.audit import effective_from
from hki.auth.models import User
from hki.db import AnySession
from hki.i18n import datum, local_today, local_zone
from hki.plan.forms import NUMBER_PATTERN, TEXT_MAX
from hki.plan.history import cover_references
from hki.plan.models import (
    TITLE_LENGTH,
    Field,
    Goal,
    Indicator,
    Measure,
    Organisation,
    Plan,
    TargetGroup,
)
from hki.transfer import formats, reading
from hki.transfer.models import DataImport
from hki.transfer.reading import CellError, Problem, SheetRows
from hki.transfer.sheets import (
    CONCEPT,
    CONCEPT_ROWS,
    IMPORT_SHEETS,
    ONGOING_WORDS,
    ORGANISATIONS,
    PLAN,
    SKIPPED_SHEETS,
    STATUS,
    columns_named,
    header_key,
)
from hki.updates.forms import NOTE_MAX
from hki.updates.models import StatusUpdate
from hki.updates.queries import counted
from hki.updates.rules import check_update
from hki.updates.services import build_update
from hki.vocab import LabelledEnum, PlanState, Priority, Status

NAME_LENGTH = 200
NUMBER_LENGTH = 20
#: Limits of the forms, so that whatever is imported can be edited there again.
FUNDING_MAX = 2000
BUDGET_MAX = 2**31 - 1
#: What each level of the outline is called in messages and the preview.
LEVELS = {1: "Handlungsfeld", 2: "Ziel", 3: "Maßnahme"}


@dataclass(frozen=True)
class Change:
    """One thing the import creates or changes, as the preview shows it."""

    #: "neu" or "geändert".
    kind: str
    #: "Maßnahme", "Sachstand", "Organisation" …
    entity: str
    label: str
    details: tuple[str, ...] = ()


@dataclass
class IndicatorRow:
    """An indicator given on a measure's row or on a row of its own below it."""

    row: int
    values: dict[str, Any]


@dataclass
class NodeRow:
    """A field, goal or measure row of the Plan sheet, parsed."""

    row: int
    level: int
    number: str
    values: dict[str, Any]
    #: Organisation and target-group names, resolved at apply time.
    lead: str = ""
    partners: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    indicators: list[IndicatorRow] = field(default_factory=list)
    #: The node in hki with this number, if there is one.
    existing: Field | Goal | Measure | None = None
    #: The Plan sheet's columns; for a node already in hki, absent columns change nothing.
    present: frozenset[str] = frozenset()

    def given(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` without those whose column is absent (all of them for a new node)."""
        if self.existing is None:
            return dict(values)
        return {k: v for k, v in values.items() if COLUMN_OF.get(k, k) in self.present}

    @property
    def parent_number(self) -> str:
        """"2.3" for "2.3.1": the number of the goal or field above."""
        return self.number.rsplit(".", 1)[0]


@dataclass
class AnswerRow:
    """A status answer of the Sachstände sheet, parsed and checked."""

    row: int
    number: str
    as_of: date
    status: Status
    progress: int | None
    note: str


@dataclass
class ImportCheck:
    """What an import would do, and what stops it."""

    filename: str
    sha256: str
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    plan_title: str = ""
    plan: Plan | None = None
    concept: dict[str, Any] = field(default_factory=dict)
    new_organisations: list[str] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    answers: list[AnswerRow] = field(default_factory=list)
    #: Status rows without an answer (pre-filled rows nobody filled in).
    unanswered: int = 0
    #: Rows that match what hki has already.
    unchanged: int = 0
    #: The plan's measures in hki, by number.
    measures: dict[str, Measure] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the import."""
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[Problem]:
        """Problems shown, but not stopping the import (unknown columns and sheets)."""
        return [p for p in self.problems if not p.blocking]

    @property
    def ok(self) -> bool:
        """Nothing blocks, and there is something to do or at least a plan to match."""
        return not self.errors

    def summary(self) -> dict[str, int]:
        """Counts of the changes by entity and kind, e.g. {"Maßnahme neu": 80}."""
        return dict(Counter(f"{c.entity} {c.kind}" for c in self.changes))


def check_import(session: AnySession, data: bytes, filename: str,
                 plan_title: str | None = None) -> ImportCheck:
    """Read a workbook and compare it with the database; never changes anything.

    ``plan_title`` names the plan a CSV file belongs to (a CSV holds one table only, without
    the Konzept sheet that names the plan in a workbook).
    """
    check = ImportCheck(filename=filename, sha256=hashlib.sha256(data).hexdigest())
    try:
        book = open_file(data, filename, plan_title)
    except reading.FileProblemError as error:
        check.problems.append(Problem(str(error)))
        return check
    if plan_title and not _known_plan(session, plan_title, check):
        return check
    _Checker(session, book, check).run()
    return check


def _known_plan(session: AnySession, title: str, check: ImportCheck) -> bool:
    """A plan chosen for a file (CSV) must exist: such a file cannot create one."""
    titles = list(session.scalars(select(Plan.title)))
    if title in titles:
        return True
    close = difflib.get_close_matches(title, titles, n=1, cutoff=0.6)
    hint = " " + _("Meinten Sie „%(title)s“?", title=close[0]) if close else ""
    check.problems.append(Problem(_(
        "Einen Plan „%(title)s“ gibt es in hki nicht.", title=title) + hint + " " + _(
        "Eine CSV-Datei kann nur einen vorhandenen Plan ergänzen; einen neuen Plan legen Sie "
        "mit einer Arbeitsmappe mit dem Blatt „Konzept“ an.")))
    return False


CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def is_csv(data: bytes, filename: str, plan_title: str | None = None) -> bool:
    """A CSV file: by its name, or a plan was chosen for it; never a zip or Office file."""
    return bool(filename.lower().endswith(CSV_SUFFIXES) or plan_title) and not \
        data.startswith((b"PK", reading.OLE2_MAGIC))


def open_file(data: bytes, filename: str, plan_title: str | None = None) -> Workbook:
    """An .xlsx, .ods or CSV file as a workbook, so one set of checks reads them all.

    ``plan_title`` stands in for the Konzept sheet of a file that has none (every CSV).
    """
    if is_csv(data, filename, plan_title):
        if not plan_title:
            raise reading.FileProblemError(_(
                "Eine CSV-Datei enthält nur eine Tabelle und nennt den Plan nicht. Bitte "
                "wählen Sie den Plan aus, zu dem sie gehört (Befehl: --plan „Titel“), oder "
                "laden Sie eine Arbeitsmappe (.xlsx oder .ods) mit dem Blatt „Konzept“ hoch."))
        book = formats.csv_to_workbook(data, plan_title)
    elif formats.is_opendocument(data):
        book = formats.ods_to_workbook(data)
    else:
        book = reading.open_workbook(data)
    reading.check_size(book)
    if plan_title and not reading.find_sheets(book, CONCEPT):
        formats.add_concept(book, plan_title)
    return book


#: Model attribute → the Plan sheet's column it comes from (where the names differ).
COLUMN_OF = {"start_date": "start", "end_date": "end", "budget_eur": "budget",
             "name": "indicator", "baseline_value": "baseline", "target_value": "target"}
_INDICATOR_KEYS = ("indicator", "unit", "baseline", "baseline_date", "target", "target_date",
                   "data_source")
_ANSWER_KEYS = ("as_of", "status", "progress", "note")


def _word(value: str, vocabulary: type[LabelledEnum] | type[Status]) -> Any:
    """A vocabulary member by its German word or code, matched loosely."""
    wanted = header_key(value)
    for member in vocabulary:
        if wanted in {header_key(str(member.label)), header_key(member.value)}:
            return member
    words = ", ".join(f"„{m.label}“" for m in vocabulary)
    raise CellError(_("„%(value)s“ gibt es hier nicht. Erlaubt sind: %(words)s.",
                      value=value, words=words))


class _Checker:
    """One run of the checks; collects problems and changes on ``check``."""

    def __init__(self, session: AnySession, book: Workbook, check: ImportCheck) -> None:
        self.session = session
        self.book = book
        self.check = check
        self.organisations = {o.name: o for o in session.scalars(select(Organisation))}
        self.groups = {n.lower() for n in session.scalars(select(TargetGroup.name))}

    def _sheet(self, sheet: Any) -> Any:
        """The worksheet for ``sheet``; two sheets of the same kind are an error."""
        found = reading.find_sheets(self.book, sheet)
        if len(found) > 1:
            self.check.problems.append(Problem(_(
                "Die Blätter %(names)s meinen dasselbe Blatt „%(sheet)s“. Bitte führen Sie sie "
                "zu einem zusammen.", names=", ".join(f"„{w.title}“" for w in found),
                sheet=sheet.name)))
        return found[0] if found else None

    def run(self) -> None:
        check = self.check
        known = {header_key(s.name) for s in IMPORT_SHEETS}
        known.update(header_key(name) for name in SKIPPED_SHEETS)
        for worksheet in self.book.worksheets:
            if header_key(worksheet.title) not in known:
                check.problems.append(_unknown_sheet(worksheet))
        if not self._concept():
            return
        self._organisations()
        if self._plan_rows():
            self._answers()
        if check.plan is not None and check.plan.state is PlanState.CLOSED and check.changes:
            check.problems.append(Problem(_(
                "Der Plan „%(title)s“ ist abgeschlossen und nur noch lesbar; die Datei würde "
                "ihn ändern.", title=check.plan.title)))
        if not check.errors and not check.changes:
            check.problems.append(Problem(
                _("Die Datei enthält nichts, was hki noch nicht hat. Es gibt nichts zu "
                  "importieren."), blocking=False))

    # --- Konzept ------------------------------------------------------------------

    def _concept(self) -> bool:
        """Read the plan's key data; ``False`` if the plan cannot even be identified."""
        check = self.check
        worksheet = self._sheet(CONCEPT)
        if worksheet is None:
            check.problems.append(Problem(_(
                "Das Blatt „Konzept“ fehlt. Es nennt den Titel des Handlungskonzepts, zu dem "
                "die Daten gehören. Bitte verwenden Sie die Vorlage.")))
            return False
        rows, records = reading.read_records(worksheet, CONCEPT, ("label", "value"))
        by_label = {header_key(label): (key, label) for key, label, _r in CONCEPT_ROWS}
        values: dict[str, Any] = {}
        for row, cells in records:
            try:
                label = reading.text(cells.get("label"), 100)
            except CellError as error:
                rows.problem(row, "label", str(error))
                continue
            entry = by_label.get(header_key(label))
            if entry is None:
                rows.problem(row, "label", _("Die Angabe „%(label)s“ ist unbekannt; sie wird "
                                             "nicht übernommen.", label=label), blocking=False)
                continue
            key = entry[0]
            if key in values:
                rows.problem(row, "label", _("Die Angabe „%(label)s“ steht zweimal im Blatt.",
                                             label=entry[1]))
                continue
            try:
                values[key] = self._concept_value(key, cells.get("value"))
            except CellError as error:
                rows.problem(row, "value", str(error))
        check.problems.extend(rows.problems)
        title = values.get("title") or ""
        if not title:
            check.problems.append(Problem(_("Der Titel des Handlungskonzepts fehlt (Zeile "
                                            "„Titel“, Spalte „Wert“)."), worksheet.title))
            return False
        check.plan_title = title
        same_title = self.session.scalars(select(Plan).where(Plan.title == title)).all()
        if len(same_title) > 1:
            check.problems.append(Problem(_(
                "In hki heißen %(n)d Pläne „%(title)s“; die Datei lässt sich keinem davon "
                "eindeutig zuordnen. Bitte geben Sie den Plänen in hki verschiedene Titel.",
                n=len(same_title), title=title), worksheet.title))
            return False
        check.plan = same_title[0] if same_title else None
        check.concept = {k: v for k, v in values.items() if v not in (None, "")}
        if check.plan is None:
            missing = [label for key, label, required in CONCEPT_ROWS
                       if required and key not in check.concept]
            if missing:
                check.problems.append(Problem(_(
                    "Den Plan „%(title)s“ gibt es in hki noch nicht. Für einen neuen Plan "
                    "fehlen: %(missing)s.", title=title, missing=", ".join(missing)),
                    worksheet.title))
            self._concept_order(check.concept)
            check.changes.append(Change("neu", "Handlungskonzept", title))
        else:
            self._concept_order({"valid_from": check.plan.valid_from,
                                 "valid_to": check.plan.valid_to, **check.concept})
            details = self._differences(check.plan, check.concept)
            if details:
                check.changes.append(Change("geändert", "Handlungskonzept", title, details))
        return True

    def _concept_value(self, key: str, cell: Cell | None) -> Any:
        if key in {"valid_from", "adopted_on"}:
            return reading.day(cell)
        if key == "valid_to":
            return reading.day(cell, month_end=True)
        if key == "state":
            written = reading.text(cell, 50)
            return _word(written, PlanState) if written else None
        limits = {"title": TITLE_LENGTH, "city": 200, "owner_unit": 300,
                  "adoption_paper_ref": 100, "description": TEXT_MAX}
        return reading.text(cell, limits[key])

    def _concept_order(self, values: dict[str, Any]) -> None:
        start, end = values.get("valid_from"), values.get("valid_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.check.problems.append(Problem(
                _("„Gültig bis“ liegt vor „Gültig ab“."), "Konzept"))

    def _differences(self, target: Any, values: dict[str, Any]) -> tuple[str, ...]:
        """"Titel: alt → neu" for each value that differs from what hki has."""
        details = []
        for key, new in values.items():
            old = getattr(target, key)
            if _comparable(old) != _comparable(new):
                details.append(f"{_label_of(key)}: {_shown(old)} → {_shown(new)}")
        return tuple(details)

    # --- Organisationen -----------------------------------------------------------

    def _organisations(self) -> None:
        worksheet = self._sheet(ORGANISATIONS)
        if worksheet is None:
            return
        rows, records = reading.read_records(worksheet, ORGANISATIONS, ("name",))
        for row, cells in records:
            try:
                name = reading.text(cells.get("name"), NAME_LENGTH)
            except CellError as error:
                rows.problem(row, "name", str(error))
                continue
            if not name or name in self.organisations or name in self.check.new_organisations:
                continue
            clash = next((o for o in [*self.organisations, *self.check.new_organisations]
                          if o.casefold() == name.casefold()), None)
            if clash is not None:
                rows.problem(row, "name", _(
                    "Die Organisation heißt in hki „%(name)s“. Bitte schreiben Sie sie genauso "
                    "(zwei Organisationen dürfen sich nicht nur in der Schreibweise "
                    "unterscheiden).", name=clash))
            else:
                self.check.new_organisations.append(name)
                self.check.changes.append(Change("neu", "Organisation", name))
        self.check.problems.extend(rows.problems)

    def _active_lead(self, rows: SheetRows, row: int, node: NodeRow, lead: str) -> None:
        """A deactivated organisation keeps its measures but takes on no new one."""
        organisation = self.organisations.get(lead)
        current = node.existing.lead.name if isinstance(node.existing, Measure) else None
        if organisation is not None and not organisation.is_active and lead != current:
            rows.problem(row, "lead", _(
                "Die Organisation „%(name)s“ ist deaktiviert und übernimmt keine neuen "
                "Maßnahmen.", name=lead))

    def _organisation(self, rows: SheetRows, row: int, key: str, name: str) -> None:
        """Record a problem unless ``name`` is an organisation hki knows or will create."""
        if name in self.organisations or name in self.check.new_organisations:
            return
        hint = ""
        candidates = [*self.organisations, *self.check.new_organisations]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75) or [
            c for c in candidates if c.casefold() == name.casefold()]
        if "," in name:
            hint = " " + _several_names()
        elif close:
            hint = " " + _("Meinten Sie „%(name)s“?", name=close[0])
        rows.problem(row, key, _(
            "Die Organisation „%(name)s“ gibt es in hki nicht. Bitte prüfen Sie die "
            "Schreibweise oder tragen Sie sie im Blatt „Organisationen“ ein.",
            name=name) + hint)

    # --- Plan ---------------------------------------------------------------------

    def _existing_nodes(self) -> dict[str, Field | Goal | Measure]:
        """The plan's active fields, goals and measures by number."""
        plan = self.check.plan
        if plan is None:
            return {}
        fields = self.session.scalars(
            select(Field).where(Field.plan_id == plan.id, Field.archived_at.is_(None))
            .options(selectinload(Field.goals).selectinload(Goal.measures).options(
                selectinload(Measure.indicators), selectinload(Measure.partners),
                selectinload(Measure.target_groups), selectinload(Measure.lead)))
        ).all()
        nodes: dict[str, Field | Goal | Measure] = {}
        measures = self.check.measures
        for f in fields:
            nodes[f.number] = f
            for g in f.goals:
                if g.archived_at is None:
                    nodes[f"{f.number}\x00{g.number}"] = g
                    for m in g.measures:
                        if m.archived_at is None:
                            nodes[f"{f.number}\x00{g.number}\x00{m.number}"] = m
                            measures[m.number] = m
        return nodes

    def _plan_rows(self) -> bool:
        """Read the Plan sheet; ``False`` if its numbers cannot be read at all."""
        check = self.check
        worksheet = self._sheet(PLAN)
        self.existing = self._existing_nodes()
        self.by_number: dict[str, NodeRow] = {}
        if worksheet is None:
            if check.plan is None and not check.errors:
                check.problems.append(Problem(_(
                    "Den Plan „%(title)s“ gibt es in hki noch nicht. Für einen neuen Plan "
                    "braucht die Datei das Blatt „Plan“.", title=check.plan_title)))
            return True
        rows, records = reading.read_records(worksheet, PLAN, ("number", "title"))
        if rows.converted:
            check.problems.extend(rows.problems)
            return False
        last_measure: NodeRow | None = None
        for row, cells in records:
            node = self._node(rows, row, cells)
            if node is None:
                if self._is_indicator_only(cells):
                    if last_measure is None:
                        rows.problem(row, "number", _(
                            "Eine Zeile ohne Nummer darf nur weitere Indikatoren einer "
                            "Maßnahme enthalten und muss direkt unter ihr stehen."))
                    else:
                        self._indicator(rows, row, cells, last_measure)
                    continue
                last_measure = None
                continue
            last_measure = node if node.level == 3 else None
        check.problems.extend(rows.problems)
        self._compare_nodes()
        return True

    def _is_indicator_only(self, cells: dict[str, Cell]) -> bool:
        filled = {k for k, c in cells.items() if c.value is not None and str(c.value).strip()}
        return bool(filled) and filled <= set(_INDICATOR_KEYS) | {
            c.key for c in PLAN.columns if c.info}

    def _node(self, rows: SheetRows, row: int, cells: dict[str, Cell]) -> NodeRow | None:
        """Parse one outline row; ``None`` (with problems recorded) if it is not one."""
        try:
            number = reading.text(cells.get("number"), NUMBER_LENGTH + 5).rstrip(".")
        except CellError as error:
            rows.problem(row, "number", str(error))
            return None
        if not number:
            if not self._is_indicator_only(cells):
                rows.problem(row, "number", _("Die Nummer fehlt. Jede Zeile braucht eine "
                                              "Nummer, z. B. 2 (Handlungsfeld), 2.3 (Ziel) "
                                              "oder 2.3.1 (Maßnahme)."))
            return None
        parts = number.split(".")
        if not NUMBER_PATTERN.match(number):
            rows.problem(row, "number", _(
                "„%(number)s“ ist keine gültige Nummer: Zahlen mit höchstens drei Ebenen, "
                "durch Punkte getrennt, z. B. 2.3.1.", number=number[:30]))
            return None
        if number in self.by_number:
            rows.problem(row, "number", _(
                "Die Nummer %(number)s steht schon in Zeile %(other)d. Jede Nummer darf nur "
                "einmal vorkommen.", number=number, other=self.by_number[number].row))
            return None
        node = NodeRow(row=row, level=len(parts), number=number, values={"number": number},
                       existing=self._existing(number), present=frozenset(rows.letters))
        self.by_number[number] = node
        self._node_values(rows, row, cells, node)
        if node.level > 1 and node.parent_number not in self.by_number \
                and self._existing(node.parent_number) is None:
            parent_level = LEVELS[node.level - 1]
            rows.problem(row, "number", _(
                "Zu %(level)s %(number)s fehlt die übergeordnete Zeile %(parent)s "
                "(%(parent_level)s). Sie muss weiter oben stehen oder in hki schon "
                "vorhanden sein.", level=LEVELS[node.level], number=number,
                parent=node.parent_number, parent_level=parent_level))
        self.check.nodes.append(node)
        if node.level == 3:
            self._indicator(rows, row, cells, node, optional=True)
        return node

    def _existing(self, number: str) -> Field | Goal | Measure | None:
        parts = number.split(".")
        key = "\x00".join(".".join(parts[:i + 1]) for i in range(len(parts)))
        return self.existing.get(key)

    def _cell(self, rows: SheetRows, row: int, key: str, read: Callable[[], Any]) -> Any:
        """Run one cell's reader; a problem is recorded and ``None`` returned on error."""
        try:
            return read()
        except CellError as error:
            rows.problem(row, key, str(error))
            return None

    def _node_values(self, rows: SheetRows, row: int, cells: dict[str, Cell],
                     node: NodeRow) -> None:
        get = cells.get
        title = self._cell(rows, row, "title", lambda: reading.text(get("title"), TITLE_LENGTH))
        if title == "":
            rows.problem(row, "title", _("Der Titel fehlt."))
        description = self._cell(rows, row, "description",
                                 lambda: reading.text(get("description"), TEXT_MAX))
        node.values.update(title=title or "", description=description or "")
        if node.level < 3:
            for key in ("lead", "partners", "target_groups", "start", "end", "priority",
                        "funding_note", "budget"):
                if key in cells and cells[key].value not in (None, ""):
                    rows.problem(row, key, _(
                        "Diese Angabe gehört zu Maßnahmen; bei einem %(level)s bleibt die "
                        "Spalte leer.", level=LEVELS[node.level]))
            return
        def needed(key: str) -> bool:
            return node.existing is None or key in node.present

        lead = self._cell(rows, row, "lead", lambda: reading.text(get("lead"), NAME_LENGTH))
        if lead == "" and needed("lead"):
            rows.problem(row, "lead", _("Die Federführung fehlt: Jede Maßnahme hat genau "
                                        "eine federführende Organisation."))
        elif lead:
            self._organisation(rows, row, "lead", lead)
            self._active_lead(rows, row, node, lead)
            node.lead = lead
        known = {*self.organisations, *self.check.new_organisations}
        partners = self._cell(rows, row, "partners",
                              lambda: reading.names(get("partners"), NAME_LENGTH, known)) or []
        for name in partners:
            self._organisation(rows, row, "partners", name)
        node.partners = partners
        node.target_groups = self._cell(
            rows, row, "target_groups",
            lambda: reading.names(get("target_groups"), NAME_LENGTH)) or []
        for name in node.target_groups:
            if name.lower() not in self.groups:
                self.groups.add(name.lower())
                self.check.changes.append(Change("neu", "Zielgruppe", name))
                if "," in name:
                    rows.problem(row, "target_groups", _(
                        "Die Zielgruppe „%(name)s“ wird neu angelegt.", name=name) + " " +
                        _several_names(), blocking=False)
        start = self._cell(rows, row, "start", lambda: reading.day(get("start")))
        if start is None and needed("start") and not _has_problem(rows, row, "start"):
            rows.problem(row, "start", _("Der Beginn fehlt (TT.MM.JJJJ oder MM.JJJJ)."))
        end = self._cell(rows, row, "end", lambda: _end(get("end")))
        if node.existing is not None and "start" not in node.present:
            start = node.existing.start_date  # type: ignore[union-attr]
        if start and end and end < start:
            rows.problem(row, "end", _("Das Ende (%(end)s) liegt vor dem Beginn (%(start)s).",
                                       end=datum(end), start=datum(start)))
        priority_text = self._cell(rows, row, "priority",
                                   lambda: reading.text(get("priority"), 50))
        priority = None
        if priority_text == "" and needed("priority"):
            rows.problem(row, "priority", _("Die Priorität fehlt (hoch, mittel oder niedrig)."))
        elif priority_text:
            priority = self._cell(rows, row, "priority", lambda: _word(priority_text, Priority))
        funding = self._cell(rows, row, "funding_note",
                             lambda: reading.text(get("funding_note"), FUNDING_MAX))
        budget = self._cell(rows, row, "budget", lambda: reading.euros(get("budget"), BUDGET_MAX))
        node.values.update(start_date=start, end_date=end, priority=priority,
                           funding_note=funding or "", budget_eur=budget)

    def _indicator(self, rows: SheetRows, row: int, cells: dict[str, Cell], node: NodeRow,
                   optional: bool = False) -> None:
        get = cells.get
        if optional and not any(k in cells and cells[k].value not in (None, "")
                                for k in _INDICATOR_KEYS):
            return
        name = self._cell(rows, row, "indicator",
                          lambda: reading.text(get("indicator"), TITLE_LENGTH))
        if name == "":
            rows.problem(row, "indicator", _("Die Bezeichnung des Indikators fehlt."))
            return
        values = {
            "name": name,
            "unit": self._cell(rows, row, "unit", lambda: reading.text(get("unit"), 100)),
            "baseline_value": self._cell(rows, row, "baseline",
                                         lambda: reading.number(get("baseline"))),
            "baseline_date": self._cell(rows, row, "baseline_date",
                                        lambda: reading.day(get("baseline_date"))),
            "target_value": self._cell(rows, row, "target",
                                       lambda: reading.number(get("target"))),
            "target_date": self._cell(rows, row, "target_date",
                                      lambda: reading.day(get("target_date"), month_end=True)),
            "data_source": self._cell(rows, row, "data_source",
                                      lambda: reading.text(get("data_source"), 300)),
        }
        values["unit"] = values["unit"] or ""
        values["data_source"] = values["data_source"] or ""
        node.indicators.append(IndicatorRow(row, values))

    def _compare_nodes(self) -> None:
        """Say what each row creates or changes; rows equal to hki change nothing."""
        for node in self.check.nodes:
            entity = LEVELS[node.level]
            label = f"{node.number} {node.values.get('title', '')}"
            if node.existing is None:
                news = tuple(_("Indikator „%(name)s“", name=i.values["name"])
                             for i in node.indicators)
                self.check.changes.append(Change("neu", entity, label, news))
                continue
            details = list(self._differences(node.existing, _own_values(node)))
            if isinstance(node.existing, Measure):
                details.extend(_relation_changes(node, node.existing))
                for indicator, old in _matched_indicators(node, node.existing):
                    if old is None:
                        details.append(_("Indikator „%(name)s“ neu",
                                         name=indicator.values["name"]))
                    else:
                        details.extend(
                            f"{indicator.values['name']}: {d}"
                            for d in self._differences(old, node.given(indicator.values)))
            if details:
                self.check.changes.append(Change("geändert", entity, label, tuple(details)))
            else:
                self.check.unchanged += 1

    # --- Sachstände ---------------------------------------------------------------

    def _answers(self) -> None:
        worksheet = self._sheet(STATUS)
        if worksheet is None:
            return
        rows, records = reading.read_records(worksheet, STATUS, ("measure", "as_of", "status"))
        if rows.converted:
            self.check.problems.extend(rows.problems)
            return
        parsed: list[AnswerRow] = []
        for row, cells in records:
            if not any(k in cells and cells[k].value not in (None, "") for k in _ANSWER_KEYS):
                self.check.unanswered += 1
                continue
            answer = self._answer(rows, row, cells)
            if answer is not None:
                parsed.append(answer)
        self._check_answers(rows, parsed)
        self.check.problems.extend(rows.problems)

    def _answer(self, rows: SheetRows, row: int, cells: dict[str, Cell]) -> AnswerRow | None:
        get = cells.get
        before = len(rows.problems)
        number = self._cell(rows, row, "measure",
                            lambda: reading.text(get("measure"), NUMBER_LENGTH + 5))
        number = (number or "").rstrip(".")
        if not number and not _has_problem(rows, row, "measure"):
            rows.problem(row, "measure", _("Die Nummer der Maßnahme fehlt."))
        elif number and not self._measure_known(number):
            rows.problem(row, "measure", _(
                "Eine Maßnahme %(number)s gibt es in diesem Plan nicht.", number=number))
        as_of = self._cell(rows, row, "as_of", lambda: reading.day(get("as_of")))
        if as_of is None and not _has_problem(rows, row, "as_of"):
            rows.problem(row, "as_of", _("Das Datum fehlt: Welchen Tag beschreibt der "
                                         "Sachstand (TT.MM.JJJJ)?"))
        elif as_of is not None and as_of > local_today():
            rows.problem(row, "as_of", _("Der %(day)s liegt in der Zukunft. Ein Sachstand "
                                         "beschreibt einen Tag, der schon war.",
                                         day=datum(as_of)))
        status_text = self._cell(rows, row, "status", lambda: reading.text(get("status"), 50))
        status = None
        if status_text == "":
            rows.problem(row, "status", _("Der Umsetzungsstand fehlt."))
        elif status_text:
            status = self._cell(rows, row, "status", lambda: _word(status_text, Status))
        progress = self._cell(rows, row, "progress",
                              lambda: reading.whole(get("progress"), 0, 100, _("Der Fortschritt")))
        note = self._cell(rows, row, "note", lambda: reading.text(get("note"), NOTE_MAX))
        if len(rows.problems) > before or as_of is None or status is None:
            return None
        return AnswerRow(row, number, as_of, status, progress, note or "")

    def _measure_known(self, number: str) -> bool:
        node = self.by_number.get(number)
        if node is not None:
            return node.level == 3
        return isinstance(self._existing(number), Measure)

    def _check_answers(self, rows: SheetRows, answers: list[AnswerRow]) -> None:
        """Status rules per measure in date order; answers hki already has are skipped.

        Two different answers for one day are kept (hki allows that too; the later row
        counts as the later one), the same answer twice only once.
        """
        existing = self._counted_updates()
        for answer in sorted(answers, key=lambda a: (a.number, a.as_of, a.row)):
            measure = self._existing(answer.number)
            node = self.by_number.get(answer.number)
            if node is not None and (node.existing is None or "end" in node.present):
                end = node.values.get("end_date")
            else:
                end = getattr(measure, "end_date", None)
            known = existing.get(answer.number, [])
            earlier = [u for u in known if u[0] <= answer.as_of]
            previous = max(earlier, key=lambda u: u[0])[1] if earlier else None
            checked = check_update(answer.status, answer.progress, answer.note,
                                   finite=end is not None, previous=previous)
            for name, message in checked.errors.items():
                rows.problem(answer.row, name if name in ("progress", "note") else "status",
                             message)
            if checked.errors:
                continue
            answer.progress = checked.progress
            same = (answer.as_of, answer.status, answer.progress, answer.note)
            if same in {(u[0], u[1], u[2], u[3]) for u in known}:
                self.check.unchanged += 1
                continue
            known.append(same)
            existing[answer.number] = known
            self.check.answers.append(answer)
            self.check.changes.append(Change(
                "neu", "Sachstand", f"{answer.number} {_('vom')} {datum(answer.as_of)}",
                (f"{answer.status.label}" + (f", {answer.progress} %"
                                             if answer.progress is not None else ""),)))

    def _counted_updates(self) -> dict[str, list[tuple[date, Status, int | None, str]]]:
        """The counted updates of the plan's measures, by measure number."""
        numbers = {m.id: n.rsplit("\x00", 1)[-1] for n, m in self.existing.items()
                   if isinstance(m, Measure)}
        if not numbers:
            return {}
        result: dict[str, list[tuple[date, Status, int | None, str]]] = {}
        stmt = select(StatusUpdate).where(StatusUpdate.measure_id.in_(numbers), counted())
        for u in self.session.scalars(stmt):
            result.setdefault(numbers[u.measure_id], []).append(
                (u.as_of, u.status, u.progress, _comparable(u.note)))
        return result


def _several_names() -> str:
    """Said where a comma may separate what should be two names."""
    return str(_("Falls das mehrere Namen sind: bitte mit Semikolon (;) trennen oder je einen "
                 "in eine Zeile der Zelle schreiben."))


def _unknown_sheet(worksheet: Worksheet) -> Problem:
    """A hint, or an error if the sheet holds what the Plan or Sachstände sheet holds.

    An extra sheet (notes, a chart) is passed over; plan rows under another sheet name
    would be lost without a word.
    """
    top = list(worksheet.iter_rows(max_row=reading.HEADING_SEARCH_ROWS, values_only=True))
    for sheet in (PLAN, STATUS):
        named = set().union(*(columns_named(row, sheet) for row in top)) if top else set()
        if len(named) >= 2:
            headers = ", ".join(f"„{sheet.column(k).header}“" for k in sorted(named)[:3])
            return Problem(_(
                "Das Blatt hat Spalten wie das Blatt „%(sheet)s“ (%(headers)s), heißt aber "
                "anders, und hki liest nur das Blatt „%(sheet)s“. Bitte benennen Sie es in "
                "„%(sheet)s“ um oder löschen Sie es, wenn sein Inhalt nicht übernommen werden "
                "soll.", sheet=sheet.name, headers=headers), worksheet.title)
    return Problem(_("Das Blatt ist unbekannt; sein Inhalt wird nicht übernommen."),
                   worksheet.title, blocking=False)


def _has_problem(rows: SheetRows, row: int, key: str) -> bool:
    letter = rows.letters.get(key)
    return any(p.row == row and p.column == letter for p in rows.problems)


def _end(cell: Cell | None) -> date | None:
    """A planned end, or ``None`` for an open end ("fortlaufend", "laufend", "offen" …)."""
    if cell is not None and isinstance(cell.value, str) and \
            header_key(cell.value) in {header_key(w) for w in ONGOING_WORDS} | {""}:
        return None
    try:
        return reading.day(cell, month_end=True)
    except CellError as error:
        raise CellError(str(error) + " " + _(
            "Für eine Maßnahme ohne geplantes Ende schreiben Sie „fortlaufend“ oder lassen "
            "die Zelle leer.")) from error


def _own_values(node: NodeRow) -> dict[str, Any]:
    return {k: v for k, v in node.given(node.values).items() if k != "number"}


def _matched_indicators(node: NodeRow, measure: Measure) -> list[tuple[IndicatorRow,
                                                                        Indicator | None]]:
    """Pair the file's indicators with the measure's: the n-th of a name with the n-th."""
    if node.existing is not None and "indicator" not in node.present:
        return []
    unused: dict[str, list[Indicator]] = {}
    for indicator in measure.indicators:
        if indicator.archived_at is None:
            unused.setdefault(indicator.name, []).append(indicator)
    pairs: list[tuple[IndicatorRow, Indicator | None]] = []
    for row in node.indicators:
        same = unused.get(row.values["name"], [])
        pairs.append((row, same.pop(0) if same else None))
    return pairs


def _relation_changes(node: NodeRow, measure: Measure) -> list[str]:
    details = []
    if "lead" in node.present and node.lead and node.lead != measure.lead.name:
        details.append(f"{_('Federführung')}: {measure.lead.name} → {node.lead}")
    for key, label, old, new in (
            ("partners", _("Kooperationspartner"), [p.name for p in measure.partners],
             node.partners),
            ("target_groups", _("Zielgruppen"), [t.name for t in measure.target_groups],
             node.target_groups)):
        if key not in node.present:
            continue
        if sorted(n.lower() for n in old) != sorted(n.lower() for n in new):
            details.append(f"{label}: {'; '.join(sorted(old)) or '–'} → "
                           f"{'; '.join(sorted(new)) or '–'}")
    return details


_LABELS = {
    "title": "Titel", "city": "Kommune", "owner_unit": "Herausgeber",
    "description": "Beschreibung", "valid_from": "Gültig ab", "valid_to": "Gültig bis",
    "state": "Stand", "adopted_on": "Beschlossen am", "adoption_paper_ref": "Vorlage",
    "start_date": "Beginn", "end_date": "Ende", "priority": "Priorität",
    "funding_note": "Finanzierung", "budget_eur": "Budget", "name": "Bezeichnung",
    "unit": "Einheit", "baseline_value": "Ausgangswert", "baseline_date": "Ausgangsdatum",
    "target_value": "Zielwert", "target_date": "Zieldatum", "data_source": "Datenquelle",
}


def _label_of(key: str) -> str:
    return _LABELS.get(key, key)


def _comparable(value: Any) -> Any:
    """Equal for the import: 5.0 and 5, texts up to line endings and outer spaces."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, date):
        return datum(value)
    if isinstance(value, LabelledEnum):
        return str(value.label)
    text = str(_comparable(value))
    return text if len(text) <= 60 else text[:57] + "…"


# --- Writing ------------------------------------------------------------------------


def _moment(day: date) -> datetime:
    """Midnight at the start of a local day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=local_zone()).astimezone(UTC)


def apply_import(session: AnySession, check: ImportCheck, author: User | None) -> DataImport:
    """Write what ``check`` found, in the caller's transaction (which commits once).

    A new plan's tree counts from its adoption (else its start), as if it had been kept in
    hki all along, so reports for earlier Stichtage show it; everything else counts from
    now. Status answers are written by ``author`` and, as a coordinator's, count at once.
    """
    if not check.ok:
        raise ValueError("an import with problems cannot be applied")
    if check.answers and author is None:
        raise ValueError("status answers need an author")
    organisations = {o.name: o for o in session.scalars(select(Organisation))}
    for name in check.new_organisations:
        organisations[name] = Organisation(name=name)
        session.add(organisations[name])
    groups = {t.name.lower(): t for t in session.scalars(select(TargetGroup))}
    plan = check.plan
    if plan is None:
        values = dict(check.concept)
        values.setdefault("state", PlanState.ADOPTED if values.get("adopted_on")
                          else PlanState.DRAFT)
        plan = Plan(**values)
        session.add(plan)
        moment = _moment(values.get("adopted_on") or values["valid_from"])
    else:
        for key, value in check.concept.items():
            setattr(plan, key, value)
        moment = None
    written: dict[str, Field | Goal | Measure] = {}
    with effective_from(moment) if moment else nullcontext():
        for node in check.nodes:
            written[node.number] = _write_node(session, plan, node, written, organisations,
                                               groups)
        session.flush()
    cover_references(session, plan.id)
    for answer in check.answers:
        measure = written.get(answer.number) or check.measures.get(answer.number)
        if not isinstance(measure, Measure) or author is None:  # the check rules it out
            raise ValueError(f"measure {answer.number} not found")
        update, _values = build_update(measure, author, as_of=answer.as_of,
                                       status=answer.status, progress=answer.progress,
                                       note=answer.note)
        session.add(update)
    record = DataImport(filename=check.filename[:255], sha256=check.sha256, plan=plan,
                        imported_by=author, summary=check.summary())
    session.add(record)
    session.flush()
    return record


def _write_node(session: AnySession, plan: Plan, node: NodeRow,
                written: dict[str, Field | Goal | Measure],
                organisations: dict[str, Organisation],
                groups: dict[str, TargetGroup]) -> Field | Goal | Measure:
    values: dict[str, Any] = dict(node.values)
    if node.level == 3:
        relations: dict[str, Callable[[], Any]] = {
            "lead": lambda: organisations[node.lead],
            "partners": lambda: [organisations[p] for p in node.partners],
            "target_groups": lambda: [_group(session, groups, t) for t in node.target_groups],
        }
        for key, make in relations.items():
            if node.existing is None or key in node.present:
                values[key] = make()
    values = node.given(values)
    target = node.existing
    if target is None:
        parent: Any = plan if node.level == 1 else written.get(node.parent_number) or \
            _parent(plan, node.parent_number)
        children = {1: "fields", 2: "goals", 3: "measures"}[node.level]
        siblings = getattr(parent, children)
        values["position"] = max((s.position for s in siblings), default=-1) + 1
        kinds: dict[int, type[Field] | type[Goal] | type[Measure]] = {
            1: Field, 2: Goal, 3: Measure}
        target = kinds[node.level](**values)
        siblings.append(target)
    else:
        _set_changed(target, values)
    if isinstance(target, Measure):
        for indicator, old in _matched_indicators(node, target):
            if old is None:
                position = max((i.position for i in target.indicators), default=-1) + 1
                target.indicators.append(Indicator(position=position, **indicator.values))
            else:
                _set_changed(old, node.given(indicator.values))
    return target


def _set_changed(target: Any, values: dict[str, Any]) -> None:
    """Set only what differs, so an unchanged element gets no audit entry."""
    for key, value in values.items():
        if key != "number" and _differs(getattr(target, key), value):
            setattr(target, key, value)


def _differs(old: Any, new: Any) -> bool:
    """Lists of related objects are equal whatever their order."""
    if isinstance(old, list) and isinstance(new, list):
        return {id(o) for o in old} != {id(n) for n in new}
    return bool(_comparable(old) != _comparable(new))


def _parent(plan: Plan, number: str) -> Field | Goal:
    """An existing field or goal by number (the check made sure there is one)."""
    parts = number.split(".")
    field_ = next(f for f in plan.fields if f.number == parts[0] and f.archived_at is None)
    if len(parts) == 1:
        return field_
    return next(g for g in field_.goals if g.number == number and g.archived_at is None)


def _group(session: AnySession, groups: dict[str, TargetGroup], name: str) -> TargetGroup:
    """A target group by name, ignoring case (as the form does), created if missing."""
    key = name.lower()
    if key not in groups:
        groups[key] = TargetGroup(name=name)
        session.add(groups[key])
    return groups[key]
