"""LibreOffice spreadsheets (.ods) and German CSV files, in and out.

The import checks an openpyxl :class:`~openpyxl.workbook.workbook.Workbook`; .ods and CSV
files are turned into one in memory, so they go through exactly the same checks (formulas,
merged cells, headers, values) as .xlsx. Exports can also be written as .ods.

Why .ods is read here and not by a library: the file comes from outside, and LibreOffice
writes every sheet with ``table:number-rows-repeated="1048571"`` of empty rows and
``number-columns-repeated`` of 16,384 columns, which a reader must not expand.
python-calamine (0.9) is fast but hands out values only: it cannot tell a formula from its
result, knows no number formats (percent) and no merged cells in .ods. odfpy (what pandas
uses; last release 2020) and odfdo build the whole document tree in memory and expand
repeats when asked for rows. The table part of ODF is small (rows, cells, a value type per
cell), so :func:`ods_to_workbook` streams ``content.xml`` through defusedxml (already used
to keep openpyxl safe) one row at a time and keeps every limit in its own hands.
:func:`to_ods` writes the XML directly for the same reason in reverse: drop-down lists,
print layout and frozen header rows are raw ODF in any library, and the rest is a few
templates; no new dependency is needed.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import warnings
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import IO, Any, ClassVar
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring, iterparse  # type: ignore[import-untyped]
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hki.i18n import local_today, local_zone
from hki.transfer import reading, scanning
from hki.transfer.reading import FileProblemError
from hki.transfer.sheets import CONCEPT, CONCEPT_ROWS, PLAN, STATUS, columns_named
from hki.transfer.writing import VALIDATED_ROWS, Table, pages_wide

ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
#: Columns with content in one sheet, and cells kept in memory for one file: the limits
#: of :mod:`hki.transfer.scanning`, which counts .xlsx files the same way.
MAX_COLUMNS = scanning.MAX_COLUMNS
MAX_CELLS = scanning.MAX_CELLS
MAX_SHEETS = 200
#: A merged range is recorded at most this many rows or columns wide; it is refused anyway.
MAX_MERGE_SPAN = 100
#: Bytes of the small parts of an .ods read whole (mimetype, manifest).
_SMALL_PART = 1024 * 1024
#: What a user should use, neutral about the program.
_PROGRAM = "Tabellenprogramm (Excel oder LibreOffice Calc)"

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}


@cache
def _q(name: str) -> str:
    """``"table:table-row"`` as ElementTree names it."""
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


_TABLE, _ROW, _CELL, _COVERED = (_q("table:table"), _q("table:table-row"),
                                 _q("table:table-cell"), _q("table:covered-table-cell"))
_P, _H, _S, _TAB, _BREAK = (_q("text:p"), _q("text:h"), _q("text:s"), _q("text:tab"),
                            _q("text:line-break"))
#: Inside a paragraph but not its text: comments, footnotes, ruby annotations.
_SKIPPED = {_q("office:annotation"), _q("text:note"), _q("text:ruby-text")}
_VALUE_TYPE, _CALC_VALUE_TYPE = _q("office:value-type"), _q("calcext:value-type")
_ROWS_REPEATED, _COLUMNS_REPEATED = (_q("table:number-rows-repeated"),
                                     _q("table:number-columns-repeated"))
_ROWS_SPANNED, _COLUMNS_SPANNED = (_q("table:number-rows-spanned"),
                                   _q("table:number-columns-spanned"))


def _damaged() -> FileProblemError:
    return FileProblemError(_(
        "Die Datei ist beschädigt und lässt sich nicht lesen. Bitte öffnen Sie sie in Ihrem "
        "%(program)s, speichern Sie sie erneut und laden Sie sie noch einmal hoch.",
        program=_PROGRAM))


def _too_big() -> FileProblemError:
    return FileProblemError(_("Die Datei ist zu groß (entpackt über %(mb)d MB).",
                              mb=scanning.MAX_UNPACKED_BYTES // 2**20))


def _too_many(sheet: str | None, limit: int, what: str) -> FileProblemError:
    """Too many of something in a sheet, or (``sheet`` None, for CSV) in the file."""
    if sheet is None:
        return FileProblemError(_("Die Datei hat mehr als %(max)s %(what)s",
                                  max=scanning.thousands(limit), what=what))
    return FileProblemError(_("Das Blatt „%(sheet)s“ hat mehr als %(max)s %(what)s",
                              sheet=sheet, max=scanning.thousands(limit), what=what))


def _too_many_rows(sheet: str | None) -> FileProblemError:
    return FileProblemError(scanning.too_many_rows(sheet))


def _too_long(sheet: str | None) -> FileProblemError:
    return _too_many(sheet, scanning.MAX_STORED_ROWS, _(
        "Zeilen (auch leere). Bitte löschen Sie die leeren Zeilen zwischen den Einträgen oder "
        "kopieren Sie nur die Tabelle in eine neue Datei."))


def _too_wide(sheet: str | None) -> FileProblemError:
    return _too_many(sheet, MAX_COLUMNS, _(
        "ausgefüllte Spalten. Bitte prüfen Sie, ob es die richtige Datei ist, und löschen "
        "Sie Spalten, die nicht zur Tabelle gehören."))


def _too_many_cells(limit: int = MAX_CELLS, filled: bool = True) -> FileProblemError:
    return _too_many(None, limit, (_("ausgefüllte Zellen.") if filled else _(
        "Zellen (auch leere).")) + " " + _(
        "So viele kann hki nicht auf einmal einlesen; bitte teilen Sie die Datei auf."))


def _clean(value: str) -> str:
    """Text as a cell can hold it: a vertical tab (from Word) is a line break."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _put(sheet: Worksheet, row: int, column: int, value: Any, number_format: str | None = None,
         formula: bool = False) -> None:
    """Write a value; text that starts with "=" stays text unless it is a ``formula``."""
    cell = sheet.cell(row=row, column=column, value=value)
    if cell.data_type == "f" and not formula:
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format


def _new_sheet(book: Workbook, title: str | None, index: int) -> Worksheet:
    """A worksheet named as in the file, as far as openpyxl allows sheet names."""
    name = re.sub(r"[\\*?:/\[\]]", " ", title or "").strip() or f"Tabelle{index}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # names over 31 characters: fine in memory
        sheet: Worksheet = book.create_sheet(name)
    return sheet


def _empty_book() -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    return book


# --- .ods in -------------------------------------------------------------------------


def is_opendocument(data: bytes) -> bool:
    """Whether ``data`` is an OpenDocument file of any kind (its mimetype comes first)."""
    return data[:2] == b"PK" and data[30:38] == b"mimetype" and (
        b"application/vnd.oasis.opendocument" in data[38:120])


def ods_to_workbook(data: bytes) -> Workbook:
    """Read a LibreOffice Calc file (.ods) into a workbook for the import's checks.

    Each sheet becomes a worksheet of the same name with typed values (text, int/float,
    date, datetime, bool; percentages with the format "0%"), formulas as formulas and
    merged ranges as merged cells, so that the import refuses them as it does in .xlsx.

    :raises FileProblemError: not an .ods (e.g. a text document), password-protected,
        damaged, or beyond the limits of :mod:`hki.transfer.reading` and this module.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise _not_a_spreadsheet() from error
    with archive:
        try:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > scanning.MAX_UNPACKED_BYTES:
                raise _too_big()
            manifest = _manifest(archive, names)
            _check_kind(_media_type(archive, names, manifest))
            if manifest is not None and manifest.find(f".//{_q('manifest:encryption-data')}"
                                                      ) is not None:
                raise _encrypted()
            if "content.xml" not in names:
                raise _damaged()
            with archive.open("content.xml") as stream:
                return _OdsReader().read(stream)
        except FileProblemError:
            raise
        except (zipfile.BadZipFile, ParseError, DefusedXmlException, ValueError, OSError,
                EOFError, KeyError, RecursionError) as error:
            raise _damaged() from error


def _not_a_spreadsheet() -> FileProblemError:
    return FileProblemError(_(
        "Das ist keine Tabelle im OpenDocument-Format (.ods). Bitte speichern Sie die Tabelle "
        "in Ihrem %(program)s als .ods oder .xlsx und laden Sie sie erneut hoch.",
        program=_PROGRAM))


def _encrypted() -> FileProblemError:
    return FileProblemError(_(
        "Die Datei ist mit einem Kennwort geschützt. Bitte öffnen Sie sie in Ihrem "
        "%(program)s und speichern Sie sie ohne Kennwort (in LibreOffice: Datei → Speichern "
        "unter, Haken bei „Mit Kennwort speichern“ entfernen); dann laden Sie sie erneut hoch.",
        program=_PROGRAM))


def _manifest(archive: zipfile.ZipFile, names: set[str]) -> Element | None:
    if "META-INF/manifest.xml" not in names:
        return None
    with archive.open("META-INF/manifest.xml") as stream:
        text = stream.read(_SMALL_PART + 1)
    if len(text) > _SMALL_PART:
        raise _damaged()
    root: Element = fromstring(text)
    return root


def _media_type(archive: zipfile.ZipFile, names: set[str], manifest: Element | None) -> str:
    """The document's type: the ``mimetype`` entry, or else the manifest's root entry."""
    if "mimetype" in names:
        with archive.open("mimetype") as stream:
            return stream.read(200).decode("ascii", "replace").strip()
    for entry in manifest.iter(_q("manifest:file-entry")) if manifest is not None else ():
        if entry.get(_q("manifest:full-path")) == "/":
            return entry.get(_q("manifest:media-type"), "")
    return ""


def _check_kind(media_type: str) -> None:
    if media_type.startswith(ODS_TYPE):  # also the template type (…spreadsheet-template)
        return
    kind = media_type.removeprefix("application/vnd.oasis.opendocument.").split("-")[0]
    if kind in ("text", "text-master", "text-web"):
        raise FileProblemError(_(
            "Das ist ein Textdokument (z. B. aus LibreOffice Writer oder Word), keine Tabelle. "
            "Bitte laden Sie eine Tabelle hoch, die in einem %(program)s gespeichert ist, am "
            "besten auf Grundlage der Vorlage.", program=_PROGRAM))
    if kind == "presentation":
        raise FileProblemError(_(
            "Das ist eine Präsentation, keine Tabelle. Bitte laden Sie eine Tabelle hoch, die "
            "in einem %(program)s gespeichert ist, am besten auf Grundlage der Vorlage.",
            program=_PROGRAM))
    raise _not_a_spreadsheet()


def _count(element: Element, attribute: str) -> int:
    """A repeat or span count; absent means 1. Damaged values raise ``ValueError``."""
    written = element.get(attribute)
    if written is None:
        return 1
    value = int(written)
    if value < 1:
        raise ValueError(written)
    return value


class _OdsReader:
    """Streams content.xml row by row into a workbook, never expanding empty repeats."""

    def __init__(self) -> None:
        self.book = _empty_book()
        self.cells = self.elements = 0
        self.sheet: Worksheet | None = None
        #: Rows passed in the current sheet; filled rows of all sheets; merged ranges waiting
        #: for the end of the sheet.
        self.row = 0
        self.filled = 0
        self.merges: list[tuple[int, int, int, int]] = []

    def read(self, stream: IO[bytes]) -> Workbook:
        """Keep in memory only the row being read; drop every element once it is done."""
        stack: list[Element] = []
        tables = rows = 0
        for event, element in iterparse(stream, events=("start", "end")):
            if event == "start":
                stack.append(element)
                if element.tag == _TABLE:
                    tables += 1
                    if tables == 1:
                        self._start_sheet(element.get(_q("table:name")))
                elif element.tag == _ROW:
                    rows += 1
                continue
            stack.pop()
            if element.tag == _ROW:
                rows -= 1
                if tables == 1 and rows == 0:
                    self._add_row(element)
            elif element.tag == _TABLE:
                if tables == 1:
                    self._finish_sheet()
                tables -= 1
            if rows == 0 and stack:
                stack[-1].remove(element)
        return self.book

    def _start_sheet(self, title: str | None) -> None:
        if len(self.book.worksheets) >= MAX_SHEETS:
            raise FileProblemError(_("Die Datei hat mehr als %(max)d Blätter.", max=MAX_SHEETS))
        self.sheet = _new_sheet(self.book, title, len(self.book.worksheets) + 1)
        self.row = 0
        self.merges = []

    def _finish_sheet(self) -> None:
        assert self.sheet is not None  # noqa: S101 - set at the start of every table
        for row, column, rows, columns in self.merges:
            self.sheet.merge_cells(start_row=row, start_column=column,
                                   end_row=row + rows - 1, end_column=column + columns - 1)
        self.sheet = None

    def _add_row(self, element: Element) -> None:
        assert self.sheet is not None  # noqa: S101 - rows are read inside a table only
        title = self.sheet.title
        # Even empty cells cost time to parse: a file of millions of them is refused.
        self.elements += 1 + len(element)
        if self.elements > 4 * MAX_CELLS:
            raise _too_many_cells(4 * MAX_CELLS, filled=False)
        repeat = _count(element, _ROWS_REPEATED)
        values: list[tuple[int, _Value]] = []
        merges: list[tuple[int, int, int]] = []
        column = 1
        for cell in element:
            if cell.tag not in (_CELL, _COVERED):
                continue
            times = _count(cell, _COLUMNS_REPEATED)
            if cell.tag == _CELL:
                found = _cell_value(cell)
                spans = (min(_count(cell, _ROWS_SPANNED), MAX_MERGE_SPAN),
                         min(_count(cell, _COLUMNS_SPANNED), MAX_MERGE_SPAN))
                if found is not None or spans != (1, 1):
                    if column + times - 1 > MAX_COLUMNS:
                        raise _too_wide(title)
                    for offset in range(times):
                        if found is not None:
                            values.append((column + offset, found))
                        if spans != (1, 1):
                            merges.append((column + offset, *spans))
            column += times
        if not values and not merges:
            self.row += repeat  # empty rows cost nothing, however many are repeated
            return
        if values:
            self.filled += repeat  # in all sheets: the limit is the file's
            if self.filled > scanning.MAX_ROWS:
                raise _too_many_rows(title)
        if self.row + repeat > scanning.MAX_STORED_ROWS:
            raise _too_long(title)
        self.cells += repeat * (len(values) + sum(r * c for _col, r, c in merges))
        if self.cells > MAX_CELLS:
            raise _too_many_cells()
        for _time in range(repeat):
            self.row += 1
            for index, (value, number_format, formula) in values:
                _put(self.sheet, self.row, index, value, number_format, formula)
            self.merges.extend((self.row, index, rows, columns) for index, rows, columns in merges)


#: A cell's value, its number format, and whether it is a formula.
_Value = tuple[Any, str | None, bool]


def _cell_value(cell: Element) -> _Value | None:
    """The value of a cell, its number format and whether it is a formula; ``None`` if empty.

    A value the file declares but that cannot be read (a damaged date) falls back to the
    cell's text, so the import names the cell instead of refusing the whole file.
    """
    formula = cell.get(_q("table:formula"))
    if formula:
        # "of:=SUM([.A1:.A3])" → "=SUM([.A1:.A3])"; openpyxl marks "=…" as a formula.
        body = formula.split(":=", 1)[1] if ":=" in formula[:12] else formula.lstrip("=")
        return "=" + (body or "0"), None, True
    kind = cell.get(_VALUE_TYPE) or cell.get(_CALC_VALUE_TYPE)
    try:
        if kind in ("float", "currency", "percentage"):
            number = _number(cell.get(_q("office:value"), ""))
            return number, "0%" if kind == "percentage" else None, False
        if kind == "date":
            return _date(cell.get(_q("office:date-value"), "")), None, False
        if kind == "time":
            return _duration(cell.get(_q("office:time-value"), "")), None, False
        if kind == "boolean":
            return cell.get(_q("office:boolean-value"), "").strip().lower() == "true", None, False
    except ValueError:
        pass
    written = cell.get(_q("office:string-value")) if kind == "string" else None
    if written is None:
        written = "\n".join(_paragraph(p) for p in cell if p.tag in (_P, _H))
    text = _clean(written)
    return (text, None, False) if text else None


def _number(written: str) -> int | float:
    try:
        return int(written)
    except ValueError:
        value = float(written)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(written)
    return value


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _date(written: str) -> date | datetime:
    written = written.strip()
    if "T" not in written:
        return date.fromisoformat(written)
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", written))
    return moment.replace(tzinfo=None)


_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?$")


def _duration(written: str) -> time | timedelta:
    """ISO 8601 duration "PT12H30M00S": a time of day below 24 hours, else a duration."""
    match = _DURATION.match(written.strip())
    if not match or written.strip() in ("P", "PT"):
        raise ValueError(written)
    sign, days, hours, minutes, seconds = match.groups()
    span = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                     seconds=float(seconds or 0))
    if sign:
        return -span
    if span < timedelta(days=1):
        return time(span.seconds // 3600, span.seconds // 60 % 60, span.seconds % 60,
                    span.microseconds)
    return span


def _paragraph(element: Element) -> str:
    """The text of a paragraph with its spaces, tabs and line breaks as written.

    XML whitespace inside the text collapses to one space, as ODF says; LibreOffice writes
    runs of spaces as ``text:s``.
    """
    parts: list[str] = []

    def walk(node: Element) -> None:
        if node.text:
            parts.append(re.sub(r"[ \t\r\n]+", " ", node.text))
        for child in node:
            if child.tag == _S:
                parts.append(" " * min(_count(child, _q("text:c")), 10_000))
            elif child.tag == _TAB:
                parts.append("\t")
            elif child.tag == _BREAK:
                parts.append("\n")
            elif child.tag not in _SKIPPED:
                walk(child)
            if child.tail:
                parts.append(re.sub(r"[ \t\r\n]+", " ", child.tail))

    walk(element)
    return "".join(parts)


# --- CSV in --------------------------------------------------------------------------

_DELIMITERS = (";", "\t", ",")  # in this order when a header has as many of each
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_to_workbook(data: bytes, plan_title: str) -> Workbook:
    """Read a CSV file as German offices write it into a workbook for the import's checks.

    UTF-8 (with or without BOM), Windows-1252 and UTF-16 with BOM; separated by semicolons,
    commas or tabs (taken from the header line, or from Excel's "sep=" line). All cells
    stay text: the import reads "31.12.2025" and "1.250,50" itself, and "1.1.1" must not
    become a date. The rows go to the sheet "Sachstände" if the header has the status
    sheet's date and status columns, else to "Plan"; a "Konzept" sheet with
    ``plan_title`` attaches them to that plan.

    :raises FileProblemError: binary or undecodable data, an empty file, a broken quote,
        or more rows, columns or bytes than the limits.
    """
    if len(data) > scanning.MAX_UNPACKED_BYTES:
        raise _too_big()
    text = _decode(data)
    if not text.strip():
        raise FileProblemError(_("Die Datei ist leer."))
    delimiter, text = _delimiter(text)
    rows = _csv_rows(text, delimiter)
    # The status sheet is the one with an Umsetzungsstand column (the plan sheet's is
    # "Umsetzungsstand aktuell"), looked for where the import looks for headings.
    top = [r for _n, r in rows[:reading.HEADING_SEARCH_ROWS]]
    status = any("status" in columns_named(r, STATUS) for r in top)
    book = _empty_book()
    add_concept(book, plan_title)
    sheet = book.create_sheet(STATUS.name if status else PLAN.name)
    for number, values in rows:
        for column, value in enumerate(values, start=1):
            if value:
                _put(sheet, number, column, value)
    return book


def add_concept(book: Workbook, plan_title: str) -> None:
    """A Konzept sheet naming only the plan, for a file that has none (CSV, one sheet)."""
    concept = book.create_sheet(CONCEPT.name, 0)
    concept.append([c.header for c in CONCEPT.columns])
    title_label = next(label for key, label, _r in CONCEPT_ROWS if key == "title")
    concept.append([title_label, _clean(plan_title)])


def _decode(data: bytes) -> str:
    """Text from the encodings German offices produce; binary data is refused."""
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = len(re.findall(r"[\x00-\x08\x0e-\x1f\x7f]", text))
        if "\x00" not in text and controls <= max(10, len(text) // 1000):
            return text
        break
    raise FileProblemError(_(
        "Die Datei ist keine lesbare CSV-Datei (Text mit Trennzeichen). Bitte speichern Sie "
        "die Tabelle in Ihrem %(program)s als „CSV (Trennzeichen-getrennt)“ oder „CSV UTF-8“, "
        "oder laden Sie die Arbeitsmappe selbst hoch (.xlsx oder .ods).", program=_PROGRAM))


_SEP_LINE = re.compile(r"\A[\"']?sep=(.)[\"']?[ \t]*\r?\n", re.IGNORECASE)


def _delimiter(text: str) -> tuple[str, str]:
    """The separator, and the text without Excel's "sep=;" line if it has one.

    Otherwise the first non-empty line decides: the separator found most often outside
    quotes, semicolon first when equal (the German default).
    """
    if match := _SEP_LINE.match(text):
        return match[1], text[match.end():]
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = filled = False
    for char in text[:1_000_000]:
        if char == '"':
            quoted, filled = not quoted, True
        elif quoted:
            continue
        elif char in counts:
            counts[char] += 1
            filled = True
        elif char == "\n" and filled:
            break
        elif not char.isspace():
            filled = True
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return (best if counts[best] else ";"), text


def _csv_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-empty rows with their row numbers, cleaned; limits checked while reading."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    cells = 0
    try:
        for number, values in enumerate(reader, start=1):
            cleaned = [_csv_value(v) for v in values]
            while cleaned and not cleaned[-1]:
                cleaned.pop()
            if not cleaned:
                continue
            if number > scanning.MAX_STORED_ROWS:
                raise _too_long(None)
            if len(cleaned) > MAX_COLUMNS:
                raise _too_wide(None)
            rows.append((number, cleaned))
            if len(rows) > scanning.MAX_ROWS:
                raise _too_many_rows(None)
            cells += len(cleaned)
            if cells > MAX_CELLS:
                raise _too_many_cells()
    except csv.Error as error:
        raise FileProblemError(_(
            "Die CSV-Datei lässt sich nicht lesen (Zeile %(row)d): vermutlich fehlt ein "
            "schließendes Anführungszeichen. Bitte öffnen Sie die Datei in Ihrem %(program)s, "
            "speichern Sie sie erneut als CSV und laden Sie sie noch einmal hoch.",
            row=reader.line_num, program=_PROGRAM)) from error
    return rows


def _csv_value(value: str) -> str:
    """A cell's text; hki's own CSV export puts "'" before text that looks like a formula."""
    value = _clean(value)
    if value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_START):
        value = value[1:]
    return value if value.strip() else ""


# --- .ods out ------------------------------------------------------------------------

#: Column width per character of Table.headers (about one "0" in 10-point Liberation Sans),
#: plus the cell's inner margins.
_CM_PER_CHARACTER, _CM_PADDING = 0.2, 0.2
#: From this width on, a column's text wraps (as to_xlsx does for long texts).
_WRAP_WIDTH = 24
_FORBIDDEN_NAME = re.compile(r"[\[\]*?:/\\]")


class _Styles:
    """Cell styles made on demand: one per combination of number format, wrap and bold."""

    _DATA: ClassVar[dict[str, str]] = {
        "date": "N_date", "datetime": "N_datetime", "money": "N_money", "text": "N_text",
        "bool": "N_bool"}

    def __init__(self) -> None:
        self.names: dict[tuple[str | None, bool, bool], str] = {}

    def cell(self, data: str | None = None, wrap: bool = False, bold: bool = False) -> str:
        """The name of the cell style for this combination."""
        key = (data, wrap, bold)
        if key not in self.names:
            self.names[key] = f"ce{len(self.names) + 1}"
        return self.names[key]

    def xml(self) -> str:
        """The cell styles in use, for content.xml's automatic styles."""
        out = []
        for (data, wrap, bold), name in self.names.items():
            data_style = f' style:data-style-name="{self._DATA[data]}"' if data else ""
            cell = ['style:vertical-align="top"']
            if wrap:
                cell.append('fo:wrap-option="wrap"')
            if bold:
                cell.append('fo:background-color="#dddddd" fo:border-bottom="0.06pt solid '
                            '#000000"')
            text = ('<style:text-properties fo:font-weight="bold" '
                    'style:font-weight-asian="bold" style:font-weight-complex="bold"/>'
                    if bold else "")
            out.append(f'<style:style style:name="{name}" style:family="table-cell" '
                       f'style:parent-style-name="Default"{data_style}>'
                       f'<style:table-cell-properties {" ".join(cell)}/>{text}</style:style>')
        return "".join(out)


#: Whole euros with German thousands separators whatever the reader's locale; dates with
#: literal dots, which every locale keeps (and .xlsx conversions too).
_GERMAN = 'number:language="de" number:country="DE"'
_NUMBER_STYLES = (
    '<number:date-style style:name="N_date"><number:day number:style="long"/>'
    '<number:text>.</number:text><number:month number:style="long"/>'
    '<number:text>.</number:text><number:year number:style="long"/></number:date-style>'
    '<number:date-style style:name="N_datetime"><number:day number:style="long"/>'
    '<number:text>.</number:text><number:month number:style="long"/>'
    '<number:text>.</number:text><number:year number:style="long"/><number:text> </number:text>'
    '<number:hours number:style="long"/><number:text>:</number:text>'
    '<number:minutes number:style="long"/></number:date-style>'
    f'<number:number-style style:name="N_money" {_GERMAN}><number:number '
    'number:decimal-places="0" number:min-decimal-places="0" number:min-integer-digits="1" '
    'number:grouping="true"/><number:text> €</number:text></number:number-style>'
    '<number:text-style style:name="N_text"><number:text-content/></number:text-style>'
    '<number:boolean-style style:name="N_bool"><number:boolean/></number:boolean-style>'
)


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _text_xml(value: str) -> str:
    """Paragraphs with runs of spaces and tabs written so that ODF keeps them."""
    def spaces(match: re.Match[str]) -> str:
        run = match.group()
        return "<text:tab/>" if run == "\t" else f'<text:s text:c="{len(run)}"/>'

    lines = [re.sub(r"\t|^ +| +$| {2,}", spaces, escape(line)) for line in value.split("\n")]
    return "".join(f"<text:p>{line}</text:p>" for line in lines)


def _odf_text(value: str) -> str:
    """Text without the control characters XML cannot hold; Word's vertical tab breaks."""
    return re.sub(r"[\ud800-\udfff\ufffe\uffff]", "", _clean(value))


def _local(moment: datetime) -> datetime:
    """Spreadsheets know no time zones: local wall time, without zone."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(local_zone()).replace(tzinfo=None)


def _german_number(value: float | int, decimals: int | None = None) -> str:
    if decimals == 0 or (isinstance(value, float) and value.is_integer()):
        return scanning.thousands(round(value))
    return str(value).replace(".", ",")


class _OdsWriter:
    """content.xml, styles.xml and settings.xml for a list of tables."""

    def __init__(self, tables: Sequence[Table], today: date) -> None:
        self.tables = list(tables)
        self.today = today
        self.styles = _Styles()
        self.names = self._sheet_names()
        self.validations: list[str] = []
        self.widths: dict[int, str] = {}

    def _sheet_names(self) -> list[str]:
        """Names LibreOffice accepts (without brackets, slashes and the like), unique."""
        names: list[str] = []
        for table in self.tables:
            name = _FORBIDDEN_NAME.sub(" ", _odf_text(table.name)).strip(" '") or "Tabelle"
            base, number = name, 2
            while name.casefold() in (n.casefold() for n in names):
                name, number = f"{base} ({number})", number + 1
            names.append(name)
        return names

    def content(self) -> str:
        """content.xml; tables first, as they register the styles they use."""
        tables = "".join(self._table(i, t) for i, t in enumerate(self.tables))
        columns = "".join(
            f'<style:style style:name="{name}" style:family="table-column">'
            f'<style:table-column-properties fo:break-before="auto" '
            f'style:column-width="{width * _CM_PER_CHARACTER + _CM_PADDING:.2f}cm"/></style:style>'
            for width, name in self.widths.items())
        pages = "".join(
            f'<style:style style:name="ta{i}" style:family="table" '
            f'style:master-page-name="hki{i}"><style:table-properties table:display="true" '
            f'style:writing-mode="lr-tb"/></style:style>' for i in range(len(self.tables)))
        validations = (f"<table:content-validations>{''.join(self.validations)}"
                       "</table:content-validations>" if self.validations else "")
        filters = "".join(
            f'<table:database-range table:name="__Anonymous_Sheet_DB__{i}" '
            f'table:target-range-address="{_attr(self._range(i, t))}" '
            f'table:display-filter-buttons="true"/>'
            for i, t in enumerate(self.tables) if t.has_header and t.rows)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_DECLARATIONS} '
            f'office:version="1.3"><office:automatic-styles>{columns}'
            '<style:style style:name="ro1" style:family="table-row">'
            '<style:table-row-properties fo:break-before="auto" '
            'style:use-optimal-row-height="true"/></style:style>'
            f"{pages}{_NUMBER_STYLES}{self.styles.xml()}</office:automatic-styles>"
            f"<office:body><office:spreadsheet>{validations}{tables}"
            + (f"<table:database-ranges>{filters}</table:database-ranges>" if filters else "")
            + "</office:spreadsheet></office:body></office:document-content>")

    def _range(self, index: int, table: Table) -> str:
        name = self._ref_name(index)
        last = get_column_letter(max(len(table.headers), 1))
        return f"{name}.A1:{name}.{last}{len(table.rows) + 1}"

    def _ref_name(self, index: int) -> str:
        return "'" + self.names[index].replace("'", "''") + "'"

    def _table(self, index: int, table: Table) -> str:
        width = max([len(table.headers), *(len(r) for r in table.rows)])
        wraps = [i < len(table.headers) and table.headers[i][1] >= _WRAP_WIDTH
                 for i in range(width)]
        checks = {column: self._validation(index, column, words)
                  for column, words in table.choices.items() if column < width}
        out = [f'<table:table table:name="{_attr(self.names[index])}" '
               f'table:style-name="ta{index}">']
        for column in range(width):
            chars = table.headers[column][1] if column < len(table.headers) else 12
            name = self.widths.setdefault(chars, f"co{len(self.widths) + 1}")
            default = self.styles.cell("text" if column in table.text_columns else None,
                                       wraps[column])
            out.append(f'<table:table-column table:style-name="{name}" '
                       f'table:default-cell-style-name="{default}"/>')
        if table.has_header:
            head = self.styles.cell(wrap=True, bold=True)
            cells = "".join(
                f'<table:table-cell table:style-name="{head}" office:value-type="string">'
                f"{_text_xml(_odf_text(header))}</table:table-cell>"
                for header, _w in table.headers)
            out.append(f'<table:table-header-rows><table:table-row table:style-name="ro1">'
                       f"{cells}</table:table-row></table:table-header-rows>")
        for row in table.rows:
            cells = "".join(
                self._cell(table, column, row[column] if column < len(row) else None,
                           wraps[column], checks.get(column))
                for column in range(width))
            out.append(f'<table:table-row table:style-name="ro1">{cells}</table:table-row>')
        spare = VALIDATED_ROWS - len(table.rows) - 1
        if checks and table.has_header and spare > 0:
            # Empty rows below the data keep the drop-down lists, as the .xlsx template does.
            cells = "".join(
                f'<table:table-cell table:content-validation-name="{checks[c]}"/>'
                if c in checks else "<table:table-cell/>" for c in range(width))
            out.append(f'<table:table-row table:style-name="ro1" '
                       f'table:number-rows-repeated="{spare}">{cells}</table:table-row>')
        out.append("</table:table>")
        return "".join(out)

    def _validation(self, index: int, column: int, words: list[str]) -> str:
        name = f"val{len(self.validations) + 1}"
        listed = ";".join('"' + _odf_text(w).replace('"', '""') + '"' for w in words)
        place = f"{self._ref_name(index)}.{get_column_letter(column + 1)}2"
        self.validations.append(
            f'<table:content-validation table:name="{name}" '
            f'table:condition="{_attr(f"of:cell-content-is-in-list({listed})")}" '
            f'table:allow-empty-cell="true" table:display-list="unsorted" '
            f'table:base-cell-address="{_attr(place)}">'
            f'<table:error-message table:message-type="stop" table:display="true" '
            f'table:title="{_attr(_("Ungültiger Eintrag"))}"><text:p>'
            f'{escape(_("Bitte wählen Sie einen Eintrag aus der Liste."))}</text:p>'
            f"</table:error-message></table:content-validation>")
        return name

    def _cell(self, table: Table, column: int, value: Any, wrap: bool,
              check: str | None) -> str:
        extra = f' table:content-validation-name="{check}"' if check else ""
        text_column = column in table.text_columns
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        if value is None or value == "":
            style = self.styles.cell("text" if text_column else None, wrap)
            return f'<table:table-cell table:style-name="{style}"{extra}/>'
        if isinstance(value, bool):
            style = self.styles.cell("bool", wrap)
            word = _("WAHR") if value else _("FALSCH")
            return (f'<table:table-cell table:style-name="{style}"{extra} '
                    f'office:value-type="boolean" office:boolean-value="{str(value).lower()}">'
                    f"<text:p>{word}</text:p></table:table-cell>")
        if isinstance(value, int | float) and not text_column and math.isfinite(value):
            money = column in table.money_columns
            style = self.styles.cell("money" if money else None, wrap)
            shown = _german_number(value, 0 if money else None) + (" €" if money else "")
            return (f'<table:table-cell table:style-name="{style}"{extra} '
                    f'office:value-type="float" office:value="{value!r}">'
                    f"<text:p>{shown}</text:p></table:table-cell>")
        if isinstance(value, datetime):
            moment = _local(value).replace(microsecond=0)
            style = self.styles.cell("datetime", wrap)
            return (f'<table:table-cell table:style-name="{style}"{extra} '
                    f'office:value-type="date" office:date-value="{moment.isoformat()}">'
                    f"<text:p>{moment:%d.%m.%Y %H:%M}</text:p></table:table-cell>")
        if isinstance(value, date):
            style = self.styles.cell("date", wrap)
            return (f'<table:table-cell table:style-name="{style}"{extra} '
                    f'office:value-type="date" office:date-value="{value.isoformat()}">'
                    f"<text:p>{value:%d.%m.%Y}</text:p></table:table-cell>")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        written = _odf_text(str(value))
        style = self.styles.cell("text" if text_column else None, wrap or "\n" in written)
        # A string cell: LibreOffice never reads it as a formula, whatever it starts with.
        return (f'<table:table-cell table:style-name="{style}"{extra} '
                f'office:value-type="string">{_text_xml(written)}</table:table-cell>')

    def styles_xml(self) -> str:
        """styles.xml: A4 landscape, fit to page width, footer with title and date."""
        masters = []
        for index, table in enumerate(self.tables):
            title = escape(_odf_text(table.title or table.name))
            stand = escape(_("Stand: %(day)s", day=f"{self.today:%d.%m.%Y}"))
            page = escape(_("Seite"))
            of = escape(_("von"))
            masters.append(
                f'<style:master-page style:name="hki{index}" '
                f'style:page-layout-name="pm{index}">'
                '<style:header style:display="false"/><style:footer>'
                f"<style:region-left><text:p>{title}</text:p></style:region-left>"
                f"<style:region-right><text:p>{stand} · {page} "
                f"<text:page-number>1</text:page-number> {of} "
                f"<text:page-count>1</text:page-count></text:p></style:region-right>"
                "</style:footer></style:master-page>")
        layouts = [
            f'<style:page-layout style:name="pm{index}">'
            '<style:page-layout-properties fo:page-width="29.7cm" fo:page-height="21cm" '
            'style:print-orientation="landscape" fo:margin-top="1.5cm" '
            'fo:margin-bottom="1cm" fo:margin-left="1.5cm" fo:margin-right="1.5cm" '
            'style:print-page-order="ttb" style:first-page-number="continue" '
            f'style:scale-to-X="{pages_wide(table)}" '
            'style:print="charts drawings objects zero-values" '
            'style:writing-mode="lr-tb"/><style:header-style/><style:footer-style>'
            '<style:header-footer-properties fo:min-height="0.6cm" fo:margin-top="0.3cm"/>'
            "</style:footer-style></style:page-layout>" for index, table in enumerate(self.tables)]
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_DECLARATIONS} '
            'office:version="1.3"><office:styles>'
            '<style:default-style style:family="table-cell"><style:text-properties '
            'style:font-name="Liberation Sans" fo:font-size="10pt" fo:language="de" '
            'fo:country="DE"/></style:default-style>'
            '<style:style style:name="Default" style:family="table-cell"/></office:styles>'
            f"<office:automatic-styles>{''.join(layouts)}</office:automatic-styles>"
            f"<office:master-styles>{''.join(masters)}</office:master-styles>"
            "</office:document-styles>")

    def settings(self) -> str:
        """settings.xml: the header row of each table stays in view while scrolling."""
        def item(name: str, kind: str, value: object) -> str:
            return (f'<config:config-item config:name="{name}" config:type="{kind}">{value}'
                    "</config:config-item>")

        entries = []
        for index, table in enumerate(self.tables):
            frozen = 1 if table.has_header else 0
            entries.append(
                f'<config:config-item-map-entry config:name="{_attr(self.names[index])}">'
                + item("HorizontalSplitMode", "short", 0)
                + item("VerticalSplitMode", "short", 2 if frozen else 0)
                + item("HorizontalSplitPosition", "int", 0)
                + item("VerticalSplitPosition", "int", frozen)
                + item("ActiveSplitRange", "short", 2)
                + item("PositionLeft", "int", 0) + item("PositionRight", "int", 0)
                + item("PositionTop", "int", 0) + item("PositionBottom", "int", frozen)
                + "</config:config-item-map-entry>")
        active = escape(self.names[0]) if self.names else ""
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-settings '
            f'{_DECLARATIONS} office:version="1.3"><office:settings>'
            '<config:config-item-set config:name="ooo:view-settings">'
            '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
            + item("ViewId", "string", "view1")
            + '<config:config-item-map-named config:name="Tables">' + "".join(entries)
            + "</config:config-item-map-named>" + item("ActiveTable", "string", active)
            + "</config:config-item-map-entry></config:config-item-map-indexed>"
            "</config:config-item-set></office:settings></office:document-settings>")


_DECLARATIONS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NS.items()
                         if prefix not in ("manifest", "calcext"))

_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    f'xmlns:manifest="{_NS["manifest"]}" manifest:version="1.3">'
    f'<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
    f'manifest:media-type="{ODS_TYPE}"/>'
    + "".join(f'<manifest:file-entry manifest:full-path="{part}" manifest:media-type="text/xml"/>'
              for part in ("content.xml", "styles.xml", "meta.xml", "settings.xml"))
    + "</manifest:manifest>")


def to_ods(tables: Sequence[Table], *, today: date | None = None) -> bytes:
    """Write hki's tables as one LibreOffice Calc file (.ods).

    Like :func:`hki.transfer.writing.to_xlsx`: bold header rows that stay in view and are
    printed on every page, column widths from the headers, typed cells (dates TT.MM.JJJJ,
    whole euros as "1.250 €"), text columns as text, long texts wrapped, drop-down lists;
    printed A4 landscape, fit to the page width, with the title and date in the footer.
    Text is always a string cell, so nothing in it can become a formula.

    :param today: the date in the footer; by default today where the users are.
    """
    writer = _OdsWriter(tables, today or local_today())
    content = writer.content()
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_DECLARATIONS} '
            'office:version="1.3"><office:meta><meta:generator>hki</meta:generator>'
            "</office:meta></office:document-meta>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # The mimetype comes first and uncompressed: that is how the type is recognised.
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_TYPE, zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        for name, text in (("content.xml", content), ("styles.xml", writer.styles_xml()),
                           ("meta.xml", meta), ("settings.xml", writer.settings())):
            archive.writestr(name, text)
    return out.getvalue()
