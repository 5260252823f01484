"""Writing tables to .xlsx (openpyxl) and CSV, and the tables hki exports.

Every export is a list of :class:`Table`; the same table becomes a worksheet or a CSV file.
CSV is UTF-8 with BOM and semicolons, as German Excel expects. Text that a spreadsheet
would take for a formula is stored as text in .xlsx and defused with an apostrophe in CSV.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hki.db import utcnow
from hki.extensions import db
from hki.i18n import datum, local_zone
from hki.plan.history import MeasureAsOf, PlanAsOf, plan_as_of
from hki.plan.models import Field, Goal, Measure
from hki.reports.data import NoSuchPlanError
from hki.transfer.sheets import (
    CONCEPT,
    CONCEPT_ROWS,
    EXPLANATION,
    INFO_PLAN,
    LIST_SEPARATOR,
    ONGOING_END,
    ORGANISATIONS,
    PLAN,
    STATUS,
    Sheet,
)
from hki.updates.models import StatusUpdate, UpdateReview
from hki.updates.queries import RECENCY, counted, current_updates_of
from hki.vocab import Priority, Status

#: Rows of the template that get drop-down lists (well beyond any real plan).
VALIDATED_ROWS = 5000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """A sheet: headers with widths, rows of plain values, and drop-down lists by column."""

    name: str
    headers: list[tuple[str, int]]
    rows: list[list[Any]] = field(default_factory=list)
    #: Column index → allowed words (a drop-down in Excel).
    choices: dict[int, list[str]] = field(default_factory=dict)
    #: Column indexes whose cells are text even if they look like numbers (numbers "1.2").
    text_columns: tuple[int, ...] = ()
    #: Whether the first row holds headers (the explanation sheet has none).
    has_header: bool = True
    #: Column indexes holding whole euros (shown with thousands separators and "€").
    money_columns: tuple[int, ...] = ()
    #: Printed in the page footer with the date (usually the plan's title).
    title: str = ""
    #: Column indexes holding dates (formatted as dates also where still empty).
    date_columns: tuple[int, ...] = ()

    @classmethod
    def of(cls, sheet: Sheet, rows: list[list[Any]] | None = None) -> Table:
        """A table with the columns of one of the import's sheets, formatted by their kind."""
        def where(kind: str) -> tuple[int, ...]:
            return tuple(i for i, c in enumerate(sheet.columns) if c.kind == kind)

        return cls(sheet.name, [(c.header, c.width) for c in sheet.columns], rows or [],
                   text_columns=where("outline"), money_columns=where("money"),
                   date_columns=where("date"))


def _local(moment: datetime) -> datetime:
    """Spreadsheets know no time zones: local wall time, without zone."""
    return moment.astimezone(local_zone()).replace(tzinfo=None)


#: Cell formats (Excel's codes; both programs show them with German separators).
DATE_FORMAT, MOMENT_FORMAT = "DD.MM.YYYY", "DD.MM.YYYY HH:MM"
MONEY_FORMAT = '#,##0 "€"'
#: Columns at least this wide hold running text and wrap it.
WRAP_WIDTH = 24
#: Characters of column width that still print readably (about 8 pt) across one A4 page in
#: landscape; wider tables are printed that many pages wide instead of shrunk to one.
PRINTABLE_WIDTH = 240


def pages_wide(table: Table) -> int:
    """How many landscape pages wide ``table`` prints, so that its text stays readable."""
    return max(1, math.ceil(sum(width for _h, width in table.headers) / PRINTABLE_WIDTH))


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """Write the tables as one workbook that is pleasant to fill in and to print.

    Headers bold and frozen; whole columns formatted by what they hold (outline numbers as
    text, so that a spreadsheet program never turns "1.1.1" into a date, also in rows typed
    later; dates; euros); long texts wrapped; drop-down lists; landscape pages fitted to the
    width with the heading row repeated and a footer naming the plan and the date.
    """
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for table in tables:
        sheet = book.create_sheet(table.name)
        if table.has_header:
            sheet.append([h for h, _w in table.headers])
            for cell in sheet[1]:
                cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.freeze_panes = "A2"
            sheet.print_title_rows = "1:1"
        for row in table.rows:
            sheet.append([_xlsx_value(v) for v in row])
        _format_columns(sheet, table)
        _fit_row_heights(sheet, table)
        last = max(VALIDATED_ROWS, len(table.rows) + 1)
        for index, words in table.choices.items():
            letter = get_column_letter(index + 1)
            check = DataValidation(type="list", formula1='"' + ",".join(words) + '"',
                                   allow_blank=True, showErrorMessage=True,
                                   errorTitle=_("Ungültiger Eintrag"),
                                   error=_("Bitte wählen Sie einen Eintrag aus der Liste."))
            check.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(check)
        if table.has_header and table.rows:
            sheet.auto_filter.ref = sheet.dimensions
        _page_setup(sheet, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _format_columns(sheet: Any, table: Table) -> None:
    """Column formats (for rows yet to be typed) and the same formats on written cells.

    Cells of one column share a handful of styles; each is built once and its style
    record copied to the other cells (openpyxl hashes a style on every assignment, which
    took seconds for a plan of thousands of measures).
    """
    formats: list[str | None] = []
    wraps: list[bool] = []
    for index, (_header, width) in enumerate(table.headers):
        dimension = sheet.column_dimensions[get_column_letter(index + 1)]
        dimension.width = width
        number_format = ("@" if index in table.text_columns else
                         MONEY_FORMAT if index in table.money_columns else
                         DATE_FORMAT if index in table.date_columns else None)
        wrap = width >= WRAP_WIDTH or not table.has_header
        if number_format:
            dimension.number_format = number_format
        if wrap:
            dimension.alignment = Alignment(wrap_text=True, vertical="top")
        formats.append(number_format)
        wraps.append(wrap)
    styles: dict[tuple[int, str | None, bool], Any] = {}
    for row in sheet.iter_rows(min_row=2 if table.has_header else 1, max_col=len(formats)):
        for index, cell in enumerate(row):
            value = cell.value
            if value is None and formats[index] is None:
                continue  # not written at all: the column's style applies
            number_format = (MOMENT_FORMAT if isinstance(value, datetime) else
                             DATE_FORMAT if isinstance(value, date) else formats[index])
            wrapped = wraps[index] or (isinstance(value, str) and "\n" in value)
            key = (index, number_format, wrapped)
            if key in styles:
                cell._style = copy(styles[key])
            else:
                if number_format:  # also empty cells, else their General beats the column
                    cell.number_format = number_format
                cell.alignment = Alignment(wrap_text=wrapped, vertical="top")
                styles[key] = copy(cell._style)
            if cell.data_type == "f":  # text that starts like a formula stays text
                cell.data_type = "s"


#: Points per line of text in the default font, and the most a row may be (Excel's limit).
LINE_POINTS, MAX_ROW_POINTS = 15.0, 409.0


def _fit_row_heights(sheet: Any, table: Table) -> None:
    """Rows as high as their wrapped text, estimated from the column widths.

    A .xlsx stores no heights unless written; LibreOffice then keeps every row one line
    high and wrapped texts overlap when printed (Excel would fit them only when edited).
    """
    widths = [width for _h, width in table.headers]
    for row in sheet.iter_rows(min_row=2 if table.has_header else 1):
        lines = 1
        for cell, width in zip(row, widths, strict=False):
            if isinstance(cell.value, str) and cell.value:
                per_line = max(1, int(width * 1.15))
                lines = max(lines, sum(max(1, math.ceil(len(part) / per_line))
                                       for part in cell.value.split("\n")))
        if lines > 1:
            sheet.row_dimensions[row[0].row].height = min(MAX_ROW_POINTS, lines * LINE_POINTS)


def _page_setup(sheet: Any, table: Table) -> None:
    """A4 landscape, fitted to :func:`pages_wide`, footer with plan, day and page number."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = pages_wide(table)
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = True
    footer = f"{table.title} – {table.name}" if table.title else table.name
    sheet.oddFooter.left.text = footer.replace("&", "&&")
    # &D is the day of printing, &P/&N page and pages: both programs fill them in.
    sheet.oddFooter.right.text = _("Gedruckt am &D · Seite &P von &N")


def _xlsx_value(value: Any) -> Any:
    """Timestamps in local time; texts without control characters (.xlsx cannot hold them).

    They come with text pasted from Word; a vertical tab there is a line break.
    """
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value.replace("\x0b", "\n"))
    return value


def to_csv(table: Table) -> bytes:
    """One table as CSV: UTF-8 with BOM, semicolons, dates as TT.MM.JJJJ."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    if table.has_header:
        writer.writerow([h for h, _w in table.headers])
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return datum(value)
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)).replace(".", ",")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


# --- The tables ---------------------------------------------------------------------


def _status_words() -> list[str]:
    return [str(s.label) for s in Status]


def _priority_words() -> list[str]:
    return [str(p.label) for p in Priority]


def explanation(lines: Iterable[str]) -> Table:
    """The Erläuterung sheet: one paragraph per row, in a wide first column."""
    return Table(EXPLANATION, [("", 110)], [[line] for line in lines], has_header=False)


def _import_explanation(intro: str) -> Table:
    lines = [intro, "",
             _("So geht es:"),
             _("1. Blatt „Konzept“: Titel, Kommune, Gültig ab und Gültig bis des "
               "Handlungskonzepts in die Spalte „Wert“."),
             _("2. Blatt „Organisationen“: jede Federführung und jeden Kooperationspartner, "
               "den hki noch nicht kennt, einmal."),
             _("3. Blatt „Plan“: eine Zeile je Handlungsfeld (Nummer 1), Ziel (1.2) und "
               "Maßnahme (1.2.3), in der Reihenfolge der Gliederung."),
             _("4. Blatt „Sachstände“ (wenn vorhanden): je Zeile ein Sachstand einer "
               "Maßnahme."),
             _("5. Datei speichern (.xlsx oder .ods) und in hki unter „Import“ hochladen. hki "
               "prüft alles und zeigt eine Vorschau; gespeichert wird erst nach Ihrer "
               "Bestätigung, dann alles auf einmal."),
             "", _("Wichtig:"),
             _("• Die Überschriften bleiben in Zeile 1. Die Spalten „Nummer“ und „Maßnahme "
               "(Nr.)“ sind als Text formatiert, damit das Tabellenprogramm 1.1.1 nicht in ein "
               "Datum verwandelt; bitte diese Formatierung nicht ändern."),
             _("• Daten als TT.MM.JJJJ (z. B. 31.12.2025) oder als Monat MM.JJJJ; für ein "
               "offenes Ende „fortlaufend“. Beträge in ganzen Euro (12.500)."),
             _("• Mehrere Namen in einer Zelle: mit Semikolon trennen oder je Name eine Zeile "
               "in der Zelle."),
             _("• Umsetzungsstände: %(words)s. Prioritäten: %(priorities)s.",
               words=", ".join(_status_words()), priorities=", ".join(_priority_words())),
             _("• Keine Formeln und keine verbundenen Zellen. Spalten mit „aktuell“, „Titel der "
               "Maßnahme“ und „Erfasst am/von“ dienen nur der Information."),
             _("• Was in hki schon genauso steht, ändert sich nicht; dieselbe Datei kann ohne "
               "Schaden zweimal importiert werden."),
             "", _("Spalten des Blatts „Plan“:")]
    lines += [f"• {c.header}: {c.hint}" for c in PLAN.columns if c.hint]
    lines += ["", _("Spalten des Blatts „Sachstände“:")]
    lines += [f"• {c.header}: {c.hint}" for c in STATUS.columns if c.hint]
    lines += ["", _("Andere Überschriften, die hki ebenfalls versteht (Groß- und "
                    "Kleinschreibung, Leerzeichen, Bindestriche, Gender-Endungen wie „/innen“ "
                    "und Einheiten in Klammern spielen keine Rolle):")]
    lines += [f"• {c.header}: {', '.join(c.aliases)}"
              for sheet in (PLAN, STATUS) for c in sheet.columns if c.aliases]
    return explanation(lines)


def _with_choices(table: Table, sheet: Sheet, choices: dict[str, list[str]]) -> Table:
    keys = [c.key for c in sheet.columns]
    table.choices = {keys.index(k): words for k, words in choices.items()}
    return table


def _plan_table(rows: list[list[Any]]) -> Table:
    return _with_choices(Table.of(PLAN, rows), PLAN, {"priority": _priority_words()})


def _status_table(rows: list[list[Any]]) -> Table:
    return _with_choices(Table.of(STATUS, rows), STATUS, {"status": _status_words()})


def _concept_table(plan: PlanAsOf | None, only_title: bool = False) -> Table:
    values: dict[str, Any] = {}
    if plan is not None:
        values = {"title": plan.title, "city": plan.city, "owner_unit": plan.owner_unit,
                  "description": plan.description, "valid_from": plan.valid_from,
                  "valid_to": plan.valid_to, "state": str(plan.state.label),
                  "adopted_on": plan.adopted_on,
                  "adoption_paper_ref": plan.adoption_paper_ref}
        if only_title:
            values = {"title": plan.title}
    table = Table.of(CONCEPT, [[label, values.get(key)] for key, label, _r in CONCEPT_ROWS])
    table.text_columns = (1,)
    return table


def _titled(tables: list[Table], title: str) -> list[Table]:
    """The plan's title in every sheet's page footer."""
    for table in tables:
        table.title = title
    return tables


def template_tables() -> list[Table]:
    """The empty template: Anleitung, Konzept, Organisationen, Plan and Sachstände."""
    intro = _("Vorlage für den Import in hki (Handlungskonzept Integration). Tragen Sie den "
              "Plan und, wenn vorhanden, Sachstände ein und laden Sie die Datei unter "
              "„Import“ hoch.")
    return [_import_explanation(intro), _concept_table(None), Table.of(ORGANISATIONS),
            _plan_table([]), _status_table([])]


def template() -> bytes:
    """The empty template as .xlsx (what tests and scripts fill in)."""
    return to_xlsx(template_tables())


def _indicator_cells(indicator: Any) -> list[Any]:
    return [indicator.name, indicator.unit, indicator.baseline_value,
            indicator.baseline_date, indicator.target_value, indicator.target_date,
            indicator.data_source]


def _measure_cells(m: MeasureAsOf) -> list[Any]:
    # One name per line: names may contain the semicolon that people type between them.
    return [m.lead, "\n".join(m.partners), "\n".join(m.target_groups), m.start_date,
            m.end_date or ONGOING_END, str(m.priority.label), m.funding_note, m.budget_eur]


def _status_cells(update: StatusUpdate | None) -> list[Any]:
    if update is None:
        return [None, None, None]
    return [str(update.status.label), update.progress, update.as_of]


def plan_rows(plan: PlanAsOf, current: dict[int, StatusUpdate]) -> list[list[Any]]:
    """The Plan sheet: fields, goals, measures in outline order, extra indicators below."""
    empty_measure = [None] * 8
    empty_indicator = [None] * 7
    rows: list[list[Any]] = []
    for f in plan.fields:
        rows.append([f.number, f.title, f.description, *empty_measure, *empty_indicator,
                     None, None, None])
        for g in f.goals:
            rows.append([g.number, g.title, g.description, *empty_measure,
                         *empty_indicator, None, None, None])
            for m in g.measures:
                first, *more = m.indicators or (None,)
                rows.append([m.number, m.title, m.description, *_measure_cells(m),
                             *(_indicator_cells(first) if first else empty_indicator),
                             *_status_cells(current.get(m.id))])
                rows.extend([None, None, None, *empty_measure, *_indicator_cells(i),
                             None, None, None] for i in more)
    return rows


def _measures(plan: PlanAsOf) -> list[MeasureAsOf]:
    return [m for f in plan.fields for g in f.goals for m in g.measures]


def _counted_history(plan: PlanAsOf) -> list[StatusUpdate]:
    """The updates that count now, per measure in outline order, oldest first."""
    order = {m.id: i for i, m in enumerate(_measures(plan))}
    stmt = (select(StatusUpdate).where(StatusUpdate.measure_id.in_(order), counted())
            .options(joinedload(StatusUpdate.author)).order_by(*RECENCY))
    updates = list(db.session.scalars(stmt))
    updates.reverse()
    return sorted(updates, key=lambda u: order[u.measure_id])


def _current_plan(plan_id: int) -> PlanAsOf:
    plan = plan_as_of(plan_id, utcnow())
    if plan is None:
        raise NoSuchPlanError(plan_id)
    return plan


def plan_export(plan_id: int) -> list[Table]:
    """The plan as it is now, with its counted updates: imports back unchanged."""
    plan = _current_plan(plan_id)
    measures = _measures(plan)
    current = current_updates_of([m.id for m in measures])
    by_id = {m.id: m for m in measures}
    answers = [[by_id[u.measure_id].number, by_id[u.measure_id].title, by_id[u.measure_id].lead,
                u.as_of, str(u.status.label), u.progress, u.note, u.recorded_at,
                u.author.display_name] for u in _counted_history(plan)]
    used = sorted({m.lead for m in measures} | {p for m in measures for p in m.partners})
    intro = _("Export aus hki: „%(title)s“, Stand %(day)s. Die Datei lässt sich wieder "
              "importieren (z. B. in eine andere hki-Installation). Sachstände: die, die "
              "zählen (freigegeben, nicht korrigiert).", title=plan.title,
              day=datum(_local(plan.at).date()))
    return _titled([_import_explanation(intro), _concept_table(plan),
                    Table.of(ORGANISATIONS, [[name] for name in used]),
                    _plan_table(plan_rows(plan, current)), _status_table(answers)], plan.title)


def status_template(plan_id: int, lead: str = "") -> list[Table]:
    """A file for lead offices: their measures pre-filled, answers to be written beside."""
    plan = _current_plan(plan_id)
    measures = [m for m in _measures(plan) if not lead or m.lead == lead]
    current = current_updates_of([m.id for m in measures])
    intro = _("Sachstandsabfrage „%(title)s“%(lead)s. Bitte tragen Sie je Maßnahme Datum, "
              "Umsetzungsstand, Fortschritt und Erläuterung ein; Zeilen ohne Angaben "
              "bleiben unberücksichtigt. Der bisherige Stand steht im Blatt „Plan“.",
              title=plan.title, lead=f" – {lead}" if lead else "")
    rows = [[m.number, m.title, m.lead, None, None, None, None, None, None] for m in measures]
    overview = Table.of(PLAN, [r for r in plan_rows(plan, current)
                               if r[0] is None or r[0] in {m.number for m in measures}
                               or any(m.number.startswith(f"{r[0]}.") for m in measures)])
    overview.name = INFO_PLAN
    return _titled([explanation([intro]), _concept_table(plan, only_title=True),
                    _status_table(rows), overview], plan.title)


_HISTORY_HEADERS = [
    ("Sachstand-ID", 10), ("Maßnahme (Nr.)", 12), ("Titel der Maßnahme", 40), ("Stand am", 12),
    ("Umsetzungsstand", 18), ("Fortschritt (%)", 12), ("Erläuterung", 60),
    ("Erfasst am", 18), ("Erfasst von", 24), ("Freigabe", 14), ("Entschieden von", 24),
    ("Entschieden am", 18), ("Kommentar", 40), ("Korrigiert Sachstand-ID", 12),
    ("Zählt", 8),
]


def history_export(plan_id: int) -> Table:
    """Every update of every measure of the plan, with review and correction, oldest first."""
    counting = set(db.session.scalars(
        select(StatusUpdate.id).join(StatusUpdate.measure).join(Measure.goal).join(Goal.field)
        .where(Field.plan_id == plan_id, counted())))
    stmt = (select(StatusUpdate).join(StatusUpdate.measure).join(Measure.goal)
            .join(Goal.field).where(Field.plan_id == plan_id)
            .options(joinedload(StatusUpdate.author), joinedload(StatusUpdate.measure),
                     joinedload(StatusUpdate.review).joinedload(UpdateReview.reviewer))
            .order_by(StatusUpdate.recorded_at, StatusUpdate.id))
    rows = []
    for u in db.session.scalars(stmt):
        review = u.review
        decision = _("offen") if review is None else str(review.decision.label)
        rows.append([u.id, u.measure.number, u.measure.title, u.as_of, str(u.status.label),
                     u.progress, u.note, u.recorded_at, u.author.display_name, decision,
                     review.reviewer.display_name if review else None,
                     review.decided_at if review else None, review.comment if review else None,
                     u.corrects_id, _("ja") if u.id in counting else _("nein")])
    return Table(_("Verlauf"), _HISTORY_HEADERS, rows, text_columns=(1,), date_columns=(3,))


def history_tables(plan_id: int) -> list[Table]:
    """The history as a workbook: an explanation, then the table."""
    table = history_export(plan_id)
    plan = _current_plan(plan_id)
    intro = _("Alle Sachstände von „%(title)s“ mit Freigabe und Korrekturen, ältester "
              "zuerst. „Zählt“ sagt, ob der Sachstand heute in Berichte eingeht (freigegeben "
              "und nicht durch eine freigegebene Korrektur ersetzt).", title=plan.title)
    return _titled([explanation([intro]), table], plan.title)


_LIST_HEADERS = [
    ("Nr.", 10), ("Maßnahme", 50), ("Handlungsfeld", 30), ("Ziel", 30), ("Federführung", 30),
    ("Kooperationspartner", 30), ("Zielgruppen", 30), ("Priorität", 10), ("Beginn", 12),
    ("Ende", 12), ("Umsetzungsstand", 18), ("Fortschritt (%)", 12), ("Stand vom", 12),
    ("Erläuterung", 60),
]


def measure_list(rows: Iterable[Any], title: str, stand: date, query: str) -> list[Table]:
    """The finder's rows as shown (``rows`` are ``hki.dashboard.queries.Row``)."""
    body = []
    for r in rows:
        m, u = r.entry.measure, r.entry.update
        body.append([m.number, m.title, f"{r.field_number} {r.field_title}",
                     f"{r.goal_number} {r.goal_title}", m.lead,
                     f"{LIST_SEPARATOR} ".join(m.partners),
                     f"{LIST_SEPARATOR} ".join(m.target_groups), str(m.priority.label),
                     m.start_date, m.end_date or ONGOING_END,
                     str(u.status.label) if u else _("ohne Sachstand"),
                     u.progress if u else None, u.as_of if u else None, u.note if u else None])
    intro = [_("Maßnahmen aus „%(title)s“, Stand am %(day)s.", title=title, day=datum(stand)),
             _("Filter: %(query)s", query=query or _("keine")),
             _("Exportiert am %(day)s.", day=datum(datetime.now(UTC).astimezone(
                 local_zone()).date()))]
    return _titled([Table(_("Maßnahmen"), _LIST_HEADERS, body, text_columns=(0,),
                          date_columns=(8, 9, 12)), explanation(intro)], title)

