"""Counting what an .xlsx file holds before anything is built from it.

An .xlsx is a zip of XML parts, and the work of reading it grows with what the parts
*say*, not with the size of the upload: a few hundred kilobytes can hold millions of shared
strings, a sheet 16,384 columns wide, a cell in row 1,048,576 that makes every reader walk
a million empty rows, a merged range openpyxl fills cell by cell, or elements nested a
million deep. openpyxl builds objects for all of it before a check could look. So every
XML part in the zip – whatever its name, told apart by its root element, as openpyxl finds
parts through their relationships – is first streamed once through expat, keeping only
counters, and the file is refused with a German message at the first limit it passes: in
time and memory proportional to the limits, never to what the file claims.

The limits are generous for what an office sends (a plan of 5,000 measures is some 100,000
cells); they are the constants below and are listed on the upload page.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter

#: Columns a sheet may use; hki's sheets have about twenty.
MAX_COLUMNS = 1024
#: Cells of all sheets together, counted as the rectangle from A1 to the last stored cell
#: (also empty formatted ones) plus every cell of merged and linked ranges: openpyxl makes
#: a cell of each, and readers walk the rectangle.
MAX_CELLS = 400_000
#: Rows with content in all sheets together; a plan has hundreds, a history some
#: thousands. Writing a measure costs most: 9,700 new ones take the worker some 13 s and
#: 265 MB.
MAX_ROWS = 10_000
#: Last row of a sheet, and rows stored in one (also empty formatted rows count).
MAX_STORED_ROWS = 100_000
#: Parts (files) in the zip; Excel writes a dozen, with images some more.
MAX_PARTS = 1_000
#: XML elements in all parts together (each costs a Python object in the reader).
MAX_ELEMENTS = 2_000_000
#: XML elements that are not cells and their text – styles, comments, drawings, a sheet's
#: validations and formats – in one part and in the whole file; openpyxl builds an object
#: for most of them. Excel's own styles part stays below even with 64,000 formats.
MAX_PART_ELEMENTS = 200_000
MAX_OTHER_ELEMENTS = 300_000
#: Cell formats (``xf``) in the styles part: Excel's own limit.
MAX_FORMATS = 65_490
#: Characters in the attributes of one part outside the cells (e.g. the range lists of
#: validations and conditional formats, which openpyxl turns into objects range by range).
MAX_ATTRIBUTE_CHARS = 1_000_000
#: Elements inside one cell or shared text (rich-text runs and their properties).
MAX_CELL_ELEMENTS = 1_000
#: How deep XML elements may nest; spreadsheet programs write fewer than ten levels.
MAX_DEPTH = 100
#: Characters in one cell: Excel's own limit.
MAX_CELL_CHARS = 32_767
#: Unpacked size of the whole file.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: Seconds the scan may take; the limits above keep real files far below it.
MAX_SCAN_SECONDS = 20.0

_CHUNK = 64 * 1024
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
#: Root elements of parts that hold cells; openpyxl reads worksheets, the rest count too.
_SHEET_ROOTS = frozenset({"worksheet", "chartsheet", "dialogsheet", "macrosheet"})
#: Elements whose text is a cell's text (value, formula, text run).
_TEXT = frozenset({"t", "v", "f"})


class TooMuchError(ValueError):
    """The file passes a limit; the message says which, in German, and what to do."""


def thousands(number: int) -> str:
    """1.048.576 – numbers as German readers write them."""
    return f"{number:,}".replace(",", ".")


def column_index(letters: str) -> int:
    """A → 1, XFD → 16384."""
    result = 0
    for letter in letters.upper():
        result = result * 26 + ord(letter) - 64
    return result


def _reference(written: str | None) -> tuple[int, int]:
    """"B7" → (7, 2); anything else is damage (``ValueError``)."""
    match = _CELL_REF.match(written or "")
    if match is None:
        raise ValueError(written)
    return int(match[2]), column_index(match[1])


def _unusual() -> TooMuchError:
    return TooMuchError(_(
        "Die Datei enthält ungewöhnlich viele Formate oder Objekte. Bitte kopieren Sie nur "
        "die Tabelle (Inhalte, ohne Formate: Einfügen → Werte) in eine neue Arbeitsmappe und "
        "laden Sie diese hoch."))


@dataclass
class _Sheet:
    """What one worksheet part has shown so far."""

    title: str
    row: int = 0
    column: int = 0
    rows: int = 0
    last_row: int = 0
    last_column: int = 0
    row_filled: bool = False

    @property
    def rectangle(self) -> int:
        return self.last_row * self.last_column


@dataclass
class _Scan:
    """Counters over all parts, and the checks that raise at the first limit passed."""

    deadline: float
    elements: int = 0
    other: int = 0
    cells: int = 0
    strings: int = 0
    #: The rectangles of the sheets read before the current one.
    finished: int = 0
    #: Rows with content in all sheets so far.
    filled: int = 0

    def element(self) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise TooMuchError(_(
                "Die Datei ist zu umfangreich (mehr als %(max)s Elemente). So viel kann hki "
                "nicht auf einmal einlesen; bitte teilen Sie die Datei auf oder kopieren Sie "
                "nur die Tabelle in eine neue Arbeitsmappe.", max=thousands(MAX_ELEMENTS)))
        if self.elements % 20_000 == 0 and time.monotonic() > self.deadline:
            raise TooMuchError(_(
                "Das Lesen der Datei dauert zu lange (mehr als %(s)d Sekunden). Bitte kopieren "
                "Sie nur die Tabelle in eine neue Arbeitsmappe, speichern Sie sie als .xlsx "
                "oder .ods und laden Sie sie erneut hoch.", s=int(MAX_SCAN_SECONDS)))

    def other_element(self, in_part: int) -> None:
        self.other += 1
        if in_part > MAX_PART_ELEMENTS or self.other > MAX_OTHER_ELEMENTS:
            raise _unusual()

    def row(self, sheet: _Sheet, written: str | None) -> None:
        sheet.row = _number(written) if written else sheet.row + 1
        sheet.column = 0
        sheet.row_filled = False
        sheet.rows += 1
        if max(sheet.row, sheet.rows) > MAX_STORED_ROWS:
            raise self._too_long(sheet)

    def cell(self, sheet: _Sheet, written: str | None) -> None:
        if written:
            sheet.row, sheet.column = _reference(written)
        else:
            sheet.column += 1
        self._place(sheet, sheet.row, sheet.column, 1)

    def span(self, sheet: _Sheet, written: str | None) -> None:
        """A merged or linked range: openpyxl makes a cell of each of its cells."""
        corners = [_reference(part) for part in (written or "").split(":")]
        if not 1 <= len(corners) <= 2:
            raise ValueError(written)
        (top, left), (bottom, right) = corners[0], corners[-1]
        rows, columns = abs(bottom - top) + 1, abs(right - left) + 1
        self._place(sheet, max(top, bottom), max(left, right), rows * columns)

    def noted(self, written: str | None) -> None:
        """A comment's cell: openpyxl makes it if it is not there."""
        row, column = _reference(written)
        self._place(None, row, column, 1)

    def _place(self, sheet: _Sheet | None, row: int, column: int, cells: int) -> None:
        title = sheet.title if sheet else ""
        if column > MAX_COLUMNS:
            raise TooMuchError(_(
                "Das Blatt „%(sheet)s“ hat Zellen in mehr als %(max)s Spalten. Bitte prüfen "
                "Sie, ob es die richtige Datei ist, und löschen Sie Spalten, die nicht zur "
                "Tabelle gehören.", sheet=title, max=thousands(MAX_COLUMNS)))
        if row > MAX_STORED_ROWS:
            raise self._too_long(sheet, row)
        self.cells += cells
        if sheet is not None:
            sheet.last_row = max(sheet.last_row, row)
            sheet.last_column = max(sheet.last_column, column)
        if self.cells > MAX_CELLS or \
                self.finished + (sheet.rectangle if sheet else 0) > MAX_CELLS:
            raise TooMuchError(too_large(title, max(row, sheet.last_row if sheet else 0),
                                         max(column, sheet.last_column if sheet else 0)))

    @staticmethod
    def _too_long(sheet: _Sheet | None, row: int = 0) -> TooMuchError:
        return TooMuchError(_(
            "Das Blatt „%(sheet)s“ reicht bis Zeile %(row)s (auch leere, formatierte Zeilen "
            "zählen); hki liest höchstens %(max)s Zeilen. Bitte löschen Sie die leeren Zeilen "
            "unter der Tabelle oder kopieren Sie nur die Tabelle in eine neue Arbeitsmappe.",
            sheet=sheet.title if sheet else "", max=thousands(MAX_STORED_ROWS),
            row=thousands(max(row, sheet.row if sheet else 0, sheet.rows if sheet else 0))))

    def value(self, sheet: _Sheet) -> None:
        if sheet.row_filled:
            return
        sheet.row_filled = True
        self.filled += 1
        if self.filled > MAX_ROWS:
            raise TooMuchError(too_many_rows(sheet.title))

    def shared_string(self) -> None:
        self.strings += 1
        if self.strings > MAX_CELLS:
            raise TooMuchError(_(
                "Die Datei enthält mehr als %(max)s verschiedene Texte. So viele kann hki "
                "nicht auf einmal einlesen; bitte teilen Sie die Datei auf.",
                max=thousands(MAX_CELLS)))


def _number(written: str) -> int:
    if not written.isascii() or not written.isdigit() or len(written) > 9:
        raise ValueError(written)
    return int(written)


def too_many_rows(sheet: str | None) -> str:
    """Why a file with too many filled rows is refused (``sheet``: where the limit passed)."""
    where = _(" (alle Blätter zusammen; die Grenze wurde im Blatt „%(sheet)s“ überschritten)",
              sheet=sheet) if sheet else ""
    message: str = _(
        "Die Datei hat mehr als %(max)s ausgefüllte Zeilen%(where)s. So viele kann hki nicht "
        "auf einmal einlesen; bitte teilen Sie die Datei auf (z. B. Plan und Sachstände "
        "getrennt) oder prüfen Sie, ob es die richtige Datei ist.", max=thousands(MAX_ROWS),
        where=where)
    return message


def too_large(sheet: str, row: int, column: int) -> str:
    """Why a file spanning too many cells is refused, and what to do about it."""
    message: str = _(
        "Die Datei ist zu groß: Das Blatt „%(sheet)s“ reicht bis Zeile %(row)s und Spalte "
        "%(column)s, zusammen mit den anderen Blättern mehr als %(max)s Zellen (auch leere, "
        "formatierte und verbundene Zellen zählen). Bitte löschen Sie leere Zeilen und "
        "Spalten unter und neben der Tabelle, teilen Sie die Datei auf oder kopieren Sie nur "
        "die Tabelle in eine neue Arbeitsmappe.", sheet=sheet, row=thousands(row),
        column=get_column_letter(min(max(column, 1), 18_278)), max=thousands(MAX_CELLS))
    return message


def scan_xlsx(archive: zipfile.ZipFile, titles: dict[str, str] | None = None) -> None:
    """Stream every XML part once and raise :class:`TooMuchError` at the first limit.

    ``titles`` maps worksheet parts (``xl/worksheets/sheet1.xml``) to sheet names for the
    messages; see :func:`sheet_titles`. Parts that are not XML (images) are passed over.
    Damaged XML raises ``ValueError`` or ``expat.ExpatError``, which the caller reports as
    a damaged file.
    """
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise TooMuchError(_("Die Datei besteht aus mehr als %(max)s Teilen und ist keine "
                             "gewöhnliche Arbeitsmappe.", max=thousands(MAX_PARTS)))
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise TooMuchError(_("Die Datei ist zu groß (entpackt über %(mb)d MB).",
                             mb=MAX_UNPACKED_BYTES // 2**20))
    scan = _Scan(time.monotonic() + MAX_SCAN_SECONDS)
    for info in infos:
        with archive.open(info) as stream:
            first = stream.read(_CHUNK)
            if not first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                continue  # an image or other binary part, which openpyxl does not parse
            title = (titles or {}).get(info.filename, info.filename.rsplit("/", 1)[-1])
            part = _Part(scan, title)
            _parse(stream, part.start, part.end, part.text, first)
            if part.sheet is not None:
                scan.finished += part.sheet.rectangle


class _Part:
    """The expat callbacks for one part: what kind it is (from its root), and its limits."""

    def __init__(self, scan: _Scan, title: str) -> None:
        self.scan, self.title = scan, title
        self.kind = ""
        self.sheet: _Sheet | None = None
        self.depth = self.formats = self.attribute_chars = 0
        #: Elements of this part that are not cells or their text.
        self.outside = 0
        #: Inside <sheetData>; inside a value, formula or text run; in the current cell.
        self.in_data = False
        self.in_text = 0
        self.cell_elements = self.chars = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooMuchError(_("Die Datei ist ungewöhnlich tief verschachtelt (mehr als "
                                 "%(max)d Ebenen) und ist keine gewöhnliche Arbeitsmappe.",
                                 max=MAX_DEPTH))
        self.scan.element()
        local = name.rpartition(":")[2]
        if not self.kind:
            self.kind = ("sheet" if local in _SHEET_ROOTS else
                         "strings" if local == "sst" else "other")
            self.sheet = _Sheet(self.title) if self.kind == "sheet" else None
        self.in_text += local in _TEXT
        if self.sheet is not None and self.in_data:
            self._in_sheet_data(self.sheet, local, attributes)
        elif self.kind == "strings" and self.depth > 1:
            self._in_strings(local)
        else:
            self._elsewhere(local, attributes)

    def _in_sheet_data(self, sheet: _Sheet, local: str, attributes: dict[str, str]) -> None:
        if local == "row":
            self.scan.row(sheet, attributes.get("r"))
        elif local == "c":
            self.scan.cell(sheet, attributes.get("r"))
            self.cell_elements = self.chars = 0
        else:
            if local in ("v", "is", "f"):
                self.scan.value(sheet)
            self._in_cell()

    def _in_strings(self, local: str) -> None:
        if local == "si":
            self.scan.shared_string()
            self.cell_elements = self.chars = 0
        else:
            self._in_cell()

    def _in_cell(self) -> None:
        self.cell_elements += 1
        if self.cell_elements > MAX_CELL_ELEMENTS:
            raise _unusual()

    def _elsewhere(self, local: str, attributes: dict[str, str]) -> None:
        """Everything but cells: counted, its attributes too; some elements make cells."""
        if local == "sheetData":
            self.in_data = True
            return
        self.outside += 1
        self.scan.other_element(self.outside)
        self.attribute_chars += sum(len(value) for value in attributes.values())
        self.formats += local == "xf"
        if self.attribute_chars > MAX_ATTRIBUTE_CHARS or self.formats > MAX_FORMATS:
            raise _unusual()
        if self.sheet is not None and local in ("mergeCell", "hyperlink"):
            self.scan.span(self.sheet, attributes.get("ref"))
        elif self.kind == "other" and local == "comment":
            self.scan.noted(attributes.get("ref"))

    def end(self, name: str) -> None:
        self.depth -= 1
        local = name.rpartition(":")[2]
        self.in_text -= local in _TEXT
        if local == "sheetData":
            self.in_data = False

    def text(self, data: str) -> None:
        if not self.in_text or self.kind == "other":
            return
        self.chars += len(data)
        if self.chars > MAX_CELL_CHARS:
            raise TooMuchError(_("Eine Zelle enthält mehr als %(max)s Zeichen (die Grenze "
                                 "von Excel). Bitte kürzen Sie den Text.",
                                 max=thousands(MAX_CELL_CHARS)))


def _parse(stream: IO[bytes], start: Callable[[str, dict[str, str]], None],
           end: Callable[[str], None] | None = None,
           text: Callable[[str], None] | None = None, first: bytes = b"") -> None:
    """Feed a part to expat in chunks; a DOCTYPE (entities) is refused outright."""
    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
        parser.buffer_text = True

    def doctype(*_args: object) -> None:
        raise ValueError("DOCTYPE")  # spreadsheet parts never have one; entities expand

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    chunk = first or stream.read(_CHUNK)
    while chunk:
        parser.Parse(chunk, False)
        chunk = stream.read(_CHUNK)
    parser.Parse(b"", True)


def sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → sheet name, from workbook.xml and its relationships (best effort)."""
    targets: dict[str, str] = {}
    found: dict[str, str] = {}

    def relation(name: str, attributes: dict[str, str]) -> None:
        if name.rpartition(":")[2] == "Relationship" and "Id" in attributes:
            target = attributes.get("Target", "").lstrip("/")
            targets[attributes["Id"]] = target if target.startswith("xl/") else f"xl/{target}"

    def sheet(name: str, attributes: dict[str, str]) -> None:
        if name.rpartition(":")[2] == "sheet":
            ref = next((v for k, v in attributes.items() if k.endswith(":id")), "")
            if ref in targets and "name" in attributes:
                found[targets[ref]] = attributes["name"]

    for part, start in (("xl/_rels/workbook.xml.rels", relation), ("xl/workbook.xml", sheet)):
        try:
            info = archive.getinfo(part)
        except KeyError:
            return found
        if info.file_size > 4 * 2**20:
            return found  # a normal workbook.xml is a few kilobytes; the scan says the rest
        with archive.open(info) as stream:
            _parse(stream, start)
    return found
