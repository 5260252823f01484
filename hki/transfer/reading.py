"""Opening an uploaded workbook safely and reading its cells into plain values.

Everything a user can get wrong about the *file* (wrong type, password, damage, size) is
found here and said in German; everything about a *cell* comes back as a :class:`Problem`
naming sheet, row and column. Nothing here touches the database.
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any, cast
from xml.parsers import expat

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from hki.i18n import FIRST_YEAR, LAST_YEAR, parse_day
from hki.plan.forms import parse_german_float
from hki.transfer import scanning
from hki.transfer.sheets import Sheet, column_key, columns_named, header_key

#: The start of every OLE2 compound file: old .xls, and password-protected .xlsx.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Stream name of an encrypted Office document inside its OLE2 wrapper (UTF-16LE).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


class FileProblemError(ValueError):
    """The file as a whole cannot be read; the message says why, in German."""


@dataclass(frozen=True)
class Problem:
    """Something wrong in the file, where it is, and whether it stops the import."""

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None
    #: Warnings are shown but do not stop the import (e.g. an unknown column).
    blocking: bool = True

    @property
    def place(self) -> str:
        """"Blatt „Plan“, Zeile 7, Spalte D (Federführung)" – as much as is known."""
        parts = []
        if self.sheet:
            parts.append(_("Blatt „%(sheet)s“", sheet=self.sheet))
        if self.row:
            parts.append(_("Zeile %(row)d", row=self.row))
        if self.column:
            label = _("Spalte %(column)s", column=self.column)
            parts.append(f"{label} ({self.header})" if self.header else label)
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


def open_workbook(data: bytes) -> Workbook:
    """Load an .xlsx file, or raise :class:`FileProblemError` saying what is wrong with it."""
    if data.startswith(OLE2_MAGIC):
        if ENCRYPTED_STREAM in data:
            raise FileProblemError(_(
                "Die Datei ist mit einem Kennwort geschützt. Bitte öffnen Sie sie in Ihrem "
                "Tabellenprogramm, entfernen Sie den Kennwortschutz (Excel: Datei → "
                "Informationen → Arbeitsmappe schützen; LibreOffice Calc: Datei → Speichern "
                "unter, ohne „Mit Kennwort speichern“) und laden Sie sie erneut hoch."))
        raise FileProblemError(_(
            "Das ist eine Datei im alten Excel-Format (.xls). Bitte speichern Sie sie in Ihrem "
            "Tabellenprogramm als .xlsx („Excel-Arbeitsmappe“ bzw. „Excel 2007-365“) oder .ods "
            "und laden Sie sie erneut hoch."))
    if not data.startswith(b"PK"):
        raise FileProblemError(_(
            "Das ist keine Tabellendatei. Bitte laden Sie eine Arbeitsmappe im Format .xlsx "
            "oder .ods (LibreOffice Calc) oder eine CSV-Datei hoch, am besten auf Grundlage "
            "der Vorlage."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise FileProblemError(_(
                    "Die Datei ist keine Tabelle, sondern vielleicht ein Text- oder "
                    "Präsentationsdokument. Bitte laden Sie eine Arbeitsmappe (.xlsx oder "
                    ".ods) hoch."))
            scanning.scan_xlsx(archive, scanning.sheet_titles(archive))
    except scanning.TooMuchError as error:
        raise FileProblemError(str(error)) from error
    except (zipfile.BadZipFile, expat.ExpatError, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError) as error:
        if isinstance(error, FileProblemError):
            raise
        raise _damaged() from error
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it does not read (e.g. slicers); harmless.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), data_only=False, rich_text=False)
    except Exception as error:  # openpyxl raises many kinds on damaged XML
        raise _damaged() from error
    return book


def check_size(book: Workbook) -> None:
    """Refuse a workbook whose sheets span more cells than a reader may walk.

    Every reader of the import walks the rectangle from A1 to a sheet's last cell. The
    scan of an .xlsx finds a file that spans too much before loading; .ods and CSV files
    are bounded as they are read, and this catches what their rows and columns span.
    """
    total = 0
    for sheet in book.worksheets:
        total += sheet.max_row * sheet.max_column
        if total > scanning.MAX_CELLS:
            raise FileProblemError(scanning.too_large(sheet.title, sheet.max_row,
                                                      sheet.max_column))


def _damaged() -> FileProblemError:
    return FileProblemError(_(
        "Die Datei ist beschädigt und lässt sich nicht lesen. Bitte öffnen Sie sie in Ihrem "
        "Tabellenprogramm (Excel oder LibreOffice Calc), speichern Sie sie erneut als .xlsx "
        "oder .ods und laden Sie sie noch einmal hoch."))


def find_sheets(book: Workbook, sheet: Sheet) -> list[Worksheet]:
    """The worksheets for ``sheet``, matched loosely by name (more than one is a mistake)."""
    wanted = header_key(sheet.name)
    return [w for w in book.worksheets if header_key(w.title) == wanted]


@dataclass
class SheetRows:
    """The records of one sheet: each row's cells by column key, with their problems."""

    sheet: Sheet
    title: str
    header_row: int
    #: Column key → column letter, for the columns found.
    letters: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: Rows whose outline number the spreadsheet program turned into a date (one problem
    #: for the whole column says so; the rows are not read further).
    converted: set[int] = field(default_factory=set)

    def problem(self, row: int | None, key: str | None, message: str,
                blocking: bool = True) -> Problem:
        """Record a problem at a row and column of this sheet."""
        column = self.sheet.column(key) if key else None
        found = Problem(message, self.title, row, self.letters.get(key) if key else None,
                        column.header if column else None, blocking)
        self.problems.append(found)
        return found


Records = list[tuple[int, dict[str, Cell]]]

#: How far down the import looks for the heading row (title rows may stand above it).
HEADING_SEARCH_ROWS = 10


def read_records(worksheet: Worksheet, sheet: Sheet,
                 required: tuple[str, ...]) -> tuple[SheetRows, Records]:
    """Map the heading row to columns and return each non-empty row's cells by column key.

    The heading row is the first of the top rows with the most known headings, so a title
    row above it is passed over (and said so). Heading problems (unknown, missing or
    repeated columns), merged cells and outline numbers the spreadsheet program turned into
    dates are recorded; an unknown heading stops the import, since its content would be
    lost without a word.
    """
    rows = cast(Iterator[tuple[Cell, ...]], worksheet.iter_rows())
    top: list[tuple[Cell, ...]] = []
    for cells in rows:
        top.append(cells)
        if len(top) == HEADING_SEARCH_ROWS:
            break
    filled = [cells for cells in top if any(_filled(c) for c in cells)]

    def known(cells: tuple[Cell, ...]) -> int:
        return len(columns_named((c.value for c in cells), sheet))

    # A heading row names at least two known columns (one where the sheet has only one),
    # so that a data row with a word like "mittel" is not taken for headings; failing
    # that, the first filled row is the heading row if it names any known column.
    enough = min(2, len(sheet.columns))
    best = max(filled, key=known, default=())
    if best and known(best) < enough:
        best = filled[0]
    header_row = (best[0].row or 0) if best else 0
    result = SheetRows(sheet, worksheet.title, header_row)
    if not best:
        result.problem(None, None, _("Das Blatt ist leer. In der ersten Zeile stehen die "
                                     "Spaltenüberschriften, darunter je Zeile ein Eintrag."))
        return result, []
    if known(best) == 0:
        result.problems.append(Problem(_(
            "In den ersten %(n)d Zeilen stehen keine Spaltenüberschriften, die hki kennt. Die "
            "Überschriften gehören in Zeile 1 (z. B. %(examples)s), darunter je Zeile ein "
            "Eintrag.", n=HEADING_SEARCH_ROWS,
            examples=", ".join(f"„{c.header}“" for c in sheet.columns[:3])), result.title))
        return result, []
    if header_row > 1:
        result.problems.append(Problem(_(
            "Die Spaltenüberschriften stehen in Zeile %(row)d; die Zeilen darüber (z. B. ein "
            "Titel) werden nicht übernommen.", row=header_row), result.title, header_row,
            blocking=False))
    positions = _headings(best, sheet, result)
    for key in required:
        if key not in positions:
            result.problems.append(Problem(
                _("Die Spalte „%(header)s“ fehlt. Bitte fügen Sie sie hinzu (siehe Vorlage).",
                  header=sheet.column(key).header), result.title, header_row))
    _merged(worksheet, result)
    records: Records = []
    headed = {i for i, c in enumerate(best) if _filled(c)}
    unheaded: dict[int, int] = {}
    for cells in [*top[top.index(best) + 1:], *rows]:
        if not any(_filled(c) for c in cells):
            continue
        record = {key: cells[i] for key, i in positions.items() if i < len(cells)}
        records.append((cells[0].row or 0, record))
        for index, cell in enumerate(cells):
            if index not in headed and index not in unheaded and _filled(cell):
                unheaded[index] = cell.row or 0
    for index, row in sorted(unheaded.items()):
        result.problems.append(Problem(_(
            "Die Spalte hat Einträge (z. B. in Zeile %(row)d), aber keine Überschrift. Bitte "
            "ergänzen Sie die Überschrift oder löschen Sie die Spalte, wenn ihr Inhalt nicht "
            "übernommen werden soll.", row=row), result.title, header_row,
            get_column_letter(index + 1)))
    _dates_from_outline_numbers(result, records)
    return result, records


def _headings(cells: tuple[Cell, ...], sheet: Sheet, result: SheetRows) -> dict[str, int]:
    """Column key → index for each known heading; unknown and repeated ones are problems."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    names = {column_key(h): h for c in sheet.columns for h in (c.header, *c.aliases)}
    for index, cell in enumerate(cells):
        if not _filled(cell):
            continue
        text = str(cell.value).strip()
        letter = get_column_letter(index + 1)
        found = columns_named([text], sheet)
        if not found:
            close = difflib.get_close_matches(column_key(text), list(names), n=1, cutoff=0.6)
            hint = " " + _("Meinten Sie „%(header)s“?", header=names[close[0]]) if close else ""
            result.problems.append(Problem(
                _("Die Spaltenüberschrift „%(header)s“ kennt hki nicht.", header=text) + hint
                + " " + _("Bitte benennen Sie die Spalte um (die bekannten Überschriften stehen "
                          "im Blatt „Anleitung“ der Vorlage) oder löschen Sie sie, wenn ihr "
                          "Inhalt nicht übernommen werden soll."),
                result.title, result.header_row, letter, None))
            continue
        key = found.pop()
        if key in positions:
            result.problems.append(Problem(
                _("Die Spalten %(first)s („%(one)s“) und %(second)s („%(other)s“) meinen beide "
                  "„%(header)s“. Bitte führen Sie ihren Inhalt in einer Spalte zusammen.",
                  first=result.letters[key], one=written[key], second=letter, other=text,
                  header=sheet.column(key).header), result.title, result.header_row, letter,
                None))
        else:
            positions[key] = index
            written[key] = text
            result.letters[key] = letter
    return positions


def _dates_from_outline_numbers(result: SheetRows, records: Records) -> None:
    """One problem per column whose numbers (1.2.3) the spreadsheet program made dates.

    German Excel and LibreOffice read "1.1.1" as 01.01.2001 and "2.1.10" as 02.01.2010
    unless the cell is formatted as text. Where the date can only have come from a number
    of the form T.M.JJ (years 2000–2019: the third level of an outline), the message says
    which number it was; the rows are listed once, not one problem per cell.
    """
    for column in result.sheet.columns:
        if column.kind != "outline":
            continue
        converted: list[tuple[int, date]] = []
        for row, cells in records:
            value = cells[column.key].value if column.key in cells else None
            found = value if isinstance(value, date) else _date_written_back(value)
            if found is not None:  # a datetime is a date too
                converted.append((row, found))
        if not converted:
            continue
        result.converted.update(row for row, _v in converted)
        examples = []
        for row, value in converted[:3]:
            read_as = f"{value.day:02d}.{value.month:02d}.{value.year}"
            if 2000 <= value.year <= 2019:
                examples.append(_("Zeile %(row)d: %(date)s, eingegeben war wohl „%(number)s“",
                                  row=row, date=read_as,
                                  number=f"{value.day}.{value.month}.{value.year - 2000}"))
            else:
                examples.append(_("Zeile %(row)d: %(date)s", row=row, date=read_as))
        result.problem(None, column.key, _(
            "Das Tabellenprogramm hat %(n)d Nummern dieser Spalte in Datumsangaben umgewandelt "
            "(%(examples)s). Bitte formatieren Sie die ganze Spalte als Text (Zellen "
            "formatieren → Text), tragen Sie die Nummern erneut ein und laden Sie die Datei "
            "noch einmal hoch. In der Vorlage von hki ist die Spalte schon als Text "
            "formatiert. Betroffene Zeilen: %(rows)s.", n=len(converted),
            examples="; ".join(examples), rows=_row_ranges([r for r, _v in converted])))


#: How a program writes a date it made of an outline number back into a CSV file:
#: "01.01.2001" (never an outline number: those have no four-digit part) or "01. Jan".
_WRITTEN_DAY = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_WRITTEN_DAY_MONTH = re.compile(r"^(\d{1,2})\.?\s*([A-Za-zä]{3})\.?$")
_MONTHS = ("jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez")


def _date_written_back(value: object) -> date | None:
    """The date in a text cell that can only be a date a program wrote for a number."""
    if not isinstance(value, str):
        return None
    written = value.strip()
    try:
        if match := _WRITTEN_DAY.match(written):
            return date(int(match[3]), int(match[2]), int(match[1]))
        if (match := _WRITTEN_DAY_MONTH.match(written)) and \
                match[2].lower().replace("mar", "mär") in _MONTHS:
            month = _MONTHS.index(match[2].lower().replace("mar", "mär")) + 1
            return date(2000, month, int(match[1]))
    except ValueError:
        return None
    return None


def _row_ranges(rows: list[int]) -> str:
    """"3–7, 9, 12–13" for a sorted list of row numbers."""
    parts: list[str] = []
    start = previous = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == previous + 1:
            previous = row
            continue
        parts.append(str(start) if start == previous else f"{start}–{previous}")
        if row is not None:
            start = previous = row
    return ", ".join(parts)


def _filled(cell: Cell) -> bool:
    return cell.value is not None and str(cell.value).strip() != ""


def _merged(worksheet: Worksheet, result: SheetRows) -> None:
    """Merged cells hold one value for several rows; hki needs it in each, so it refuses."""
    for cells in worksheet.merged_cells.ranges:
        if cells.max_row < result.header_row:
            continue  # a title above the headings, which is not read anyway
        result.problems.append(Problem(
            _("Die Zellen %(range)s sind verbunden. Bitte heben Sie die Verbindung auf (Excel: "
              "Start → Verbinden und zentrieren; LibreOffice Calc: Format → Zellen verbinden → "
              "Zellverbindung aufheben) und tragen Sie den Wert in jede Zeile ein.",
              range=cells.coord), result.title, cells.min_row, get_column_letter(cells.min_col)))


class CellError(ValueError):
    """A cell's content is not what its column needs; the message says what to write."""


def raw(cell: Cell | None) -> Any:
    """A cell's value; formulas and Excel errors are refused (hki needs values)."""
    if cell is None or cell.value is None:
        return None
    if cell.data_type == "f":
        raise CellError(_(
            "Die Zelle enthält eine Formel. Bitte ersetzen Sie sie durch ihren Wert (Kopieren, "
            "dann Einfügen → Werte)."))
    if cell.data_type == "e":
        raise CellError(_("Die Zelle enthält den Fehlerwert %(error)s des Tabellenprogramms.",
                          error=cell.value))
    if isinstance(cell.value, str):
        return cell.value.strip() or None
    return cell.value


def text(cell: Cell | None, limit: int) -> str:
    """Text of at most ``limit`` characters (numbers are taken as written)."""
    value = raw(cell)
    if value is None:
        return ""
    if isinstance(value, datetime | date | dt_time | timedelta):
        raise CellError(_("Das Tabellenprogramm hat den Eintrag als Datum oder Uhrzeit "
                          "gelesen. Bitte formatieren Sie die Zelle als Text und tragen Sie "
                          "ihn erneut ein."))
    if isinstance(value, bool):
        raise CellError(_("Hier steht ein Wahrheitswert (WAHR/FALSCH). Bitte tragen Sie "
                          "Text ein."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(result) > limit:
        raise CellError(_("Der Text ist zu lang (%(n)d Zeichen, höchstens %(max)d).",
                          n=len(result), max=limit))
    return result


_MONTH = re.compile(r"^(\d{1,2})[./](\d{4})$")


def day(cell: Cell | None, *, month_end: bool = False) -> date | None:
    """A date: an Excel date, TT.MM.JJJJ, JJJJ-MM-TT, or a month MM.JJJJ.

    A month means its first day, or with ``month_end`` its last day (for planned ends).
    """
    value = raw(cell)
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(_("Bitte tragen Sie ein Datum ein (TT.MM.JJJJ)."))
    found = value.date() if isinstance(value, datetime) else value
    if not isinstance(found, date):
        found = _written_day(str(value).strip(), month_end)
    if found is not None:
        if not FIRST_YEAR <= found.year <= LAST_YEAR:
            raise CellError(_("Das Jahr %(year)d ist nicht plausibel (erlaubt: %(first)d bis "
                              "%(last)d).", year=found.year, first=FIRST_YEAR, last=LAST_YEAR))
        return found
    written = str(value).strip()
    raise CellError(_("„%(value)s“ ist kein gültiges Datum. Bitte schreiben Sie TT.MM.JJJJ "
                      "(z. B. 31.12.2025) oder einen Monat als MM.JJJJ (z. B. 12.2025).",
                      value=written))


def _written_day(written: str, month_end: bool) -> date | None:
    """TT.MM.JJJJ, JJJJ-MM-TT or MM.JJJJ; ``None`` if it is none of them."""
    if found := parse_day(written):
        return found
    try:
        if match := _MONTH.match(written):
            first = date(int(match[2]), int(match[1]), 1)
            if not month_end:
                return first
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
    except ValueError:
        return None
    return None


def number(cell: Cell | None) -> float | None:
    """A number, also written the German way (1.234,5); a percentage counts in percent.

    A cell formatted as percent holds 0,35 for what shows as 35 %, and a CSV file holds
    "35 %": both mean 35 (hki keeps percentages as percent, like the progress).
    """
    value = raw(cell)
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(_("Bitte tragen Sie eine Zahl ein."))
    if isinstance(value, int | float):
        if cell is not None and _percent_format(cell.number_format):
            return round(float(value) * 100, 9)
        return float(value)
    parsed = parse_german_float(re.sub(r"\s*%$", "", str(value)))
    if parsed is None:
        raise CellError(_("„%(value)s“ ist keine Zahl. Bitte schreiben Sie z. B. 1.250 oder "
                          "12,5.", value=value))
    return parsed


def whole(cell: Cell | None, low: int, high: int | None, what: str) -> int | None:
    """A whole number between ``low`` and ``high``; a percentage-formatted cell counts ×100."""
    value = number(cell)
    if value is None:
        return None
    value = round(value, 6)
    if not value.is_integer():
        raise CellError(_("%(what)s ist eine ganze Zahl.", what=what))
    result = int(value)
    if result < low or (high is not None and result > high):
        if high is None:
            raise CellError(_("%(what)s darf nicht negativ sein.", what=what))
        raise CellError(_("%(what)s liegt zwischen %(low)d und %(high)d; hier steht "
                          "%(value)d.", what=what, low=low, high=high, value=result))
    return result


def _percent_format(number_format: str | None) -> bool:
    """A format that shows a value ×100 with "%" (not a quoted or escaped percent sign)."""
    plain = re.sub(r'"[^"]*"|\\.', "", number_format or "")
    return "%" in plain


def euros(cell: Cell | None, high: int) -> int | None:
    """Whole euros: 12500, "12.500", "12.500 €", "2.450.000,00 EUR"; cents are refused."""
    value = raw(cell)
    if isinstance(value, str):
        plain = re.sub(r"^(€|EUR|Euro)\s*|\s*(€|EUR|Euro)$", "", value.strip(),
                       flags=re.IGNORECASE)
        plain = re.sub(r",(0{1,2}|-|–)$", "", plain.strip())
        plain = re.sub(r"(?<=\d)[\s\u00a0\u202f](?=\d{3}\b)", ".", plain)  # 1 000
        value = parse_german_float(plain) if re.fullmatch(r"[\d.]+", plain) else None
        if value is None or not value.is_integer():
            raise CellError(_("„%(value)s“ ist kein Betrag in ganzen Euro. Bitte schreiben Sie "
                              "z. B. 12.500 oder 2.450.000 (ohne Cent).", value=raw(cell)))
    elif value is None:
        return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise CellError(_("Bitte tragen Sie einen Betrag in ganzen Euro ein, z. B. 12.500."))
    if not float(value).is_integer():
        raise CellError(_("Das Budget wird in ganzen Euro angegeben; hier steht %(value)s. "
                          "Bitte runden Sie auf ganze Euro.",
                          value=f"{value:,.2f}".replace(",", " ").replace(".", ",")
                          .replace(" ", ".")))
    result = int(value)
    if not 0 <= result <= high:
        raise CellError(_("Das Budget liegt zwischen 0 und %(high)s Euro.",
                          high=f"{high:,}".replace(",", ".")))
    return result


def names(cell: Cell | None, limit: int, known: Collection[str] = ()) -> list[str]:
    """Several names in one cell, each once: one per line and/or separated by semicolons.

    Exports write one name per line, so a name that contains a semicolon survives: a line
    that is a ``known`` name as a whole is not split.
    """
    value = text(cell, 10 * limit)
    found: list[str] = []
    for line in value.split("\n"):
        line = line.strip()
        parts = [line] if line in known else line.split(";")
        found += [n.strip() for n in parts if n.strip()]
    for name in found:
        if len(name) > limit:
            raise CellError(_("Der Name „%(name)s…“ ist zu lang (höchstens %(max)d Zeichen).",
                              name=name[:40], max=limit))
    return list(dict.fromkeys(found))
