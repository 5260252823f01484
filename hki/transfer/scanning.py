"""Counting what an .xlsx file holds before anything is built from it.

An .xlsx is a zip of XML parts, and the work of reading it grows with what the parts
*say*, not with the size of the upload: a few hundred kilobytes can hold millions of shared
strings, a sheet 16,384 columns wide, a cell in row 1,048,576 that makes every reader walk
a million empty rows, or elements nested a million deep. openpyxl builds objects for all of
it before a check could look. So every XML part is first streamed once through expat,
keeping only counters, and the file is refused with a German message at the first limit it
passes – in time and memory proportional to the limits, never to what the file claims.

The limits are generous for what an office sends (a plan of 5,000 measures is some 100,000
cells) and are listed on the upload page; :data:`LIMITS` names them in one place.
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
#: (also empty formatted ones): readers walk that rectangle, so it is what costs.
MAX_CELLS = 400_000
#: Rows with content in all sheets together; a plan has hundreds, a history some
#: thousands. Writing a measure costs most: 9,800 new ones take the worker 13 s and 265 MB.
MAX_ROWS = 10_000
#: Last row of a sheet (also empty formatted rows count).
MAX_STORED_ROWS = 100_000
#: Parts (files) in the zip; Excel writes a dozen, with images some more.
MAX_PARTS = 1_000
#: XML elements in all parts together (each costs a Python object in the reader).
MAX_ELEMENTS = 4_000_000
#: XML elements in any other part (styles, comments, drawings); openpyxl builds an object
#: for most of them. Excel's own styles part stays far below even with 64,000 formats.
MAX_PART_ELEMENTS = 200_000
#: Cell formats (``xf``) in the styles part: Excel's own limit.
MAX_FORMATS = 65_490
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
_XML_PART = (".xml", ".rels", ".vml")


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


@dataclass
class _Sheet:
    """What one worksheet part has shown so far."""

    title: str
    row: int = 0
    column: int = 0
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
                "Die Datei ist zu aufwendig zu lesen (mehr als %(s)d Sekunden). Bitte kopieren "
                "Sie nur die Tabelle in eine neue Arbeitsmappe, speichern Sie sie als .xlsx "
                "oder .ods und laden Sie sie erneut hoch.", s=int(MAX_SCAN_SECONDS)))

    def row(self, sheet: _Sheet, written: str | None) -> None:
        sheet.row = _number(written) if written else sheet.row + 1
        sheet.column = 0
        sheet.row_filled = False

    def cell(self, sheet: _Sheet, written: str | None) -> None:
        if written and (match := _CELL_REF.match(written)):
            sheet.column, sheet.row = column_index(match[1]), int(match[2])
        elif written:
            raise ValueError(written)
        else:
            sheet.column += 1
        if sheet.column > MAX_COLUMNS:
            raise TooMuchError(_(
                "Das Blatt „%(sheet)s“ hat Zellen in mehr als %(max)s Spalten. Bitte prüfen "
                "Sie, ob es die richtige Datei ist, und löschen Sie Spalten, die nicht zur "
                "Tabelle gehören.", sheet=sheet.title, max=thousands(MAX_COLUMNS)))
        if sheet.row > MAX_STORED_ROWS:
            raise TooMuchError(_(
                "Das Blatt „%(sheet)s“ reicht bis Zeile %(row)s (auch leere, formatierte Zeilen "
                "zählen); hki liest höchstens %(max)s Zeilen. Bitte löschen Sie die leeren "
                "Zeilen unter der Tabelle oder kopieren Sie nur die Tabelle in eine neue "
                "Arbeitsmappe.", sheet=sheet.title, row=thousands(sheet.row),
                max=thousands(MAX_STORED_ROWS)))
        sheet.last_row = max(sheet.last_row, sheet.row)
        sheet.last_column = max(sheet.last_column, sheet.column)
        self.cells += 1
        self._rectangles(sheet)

    def span(self, sheet: _Sheet, written: str | None) -> None:
        """A merged range or a linked range: openpyxl makes a cell for each of its cells."""
        corners = [_CELL_REF.match(part) for part in (written or "").split(":")]
        if not 1 <= len(corners) <= 2 or not all(corners):
            raise ValueError(written)
        row, column = sheet.row, sheet.column
        for corner in corners:
            assert corner is not None  # noqa: S101 - all matched, checked above
            self.cell(sheet, corner[0])
        sheet.row, sheet.column = row, column

    def value(self, sheet: _Sheet) -> None:
        if sheet.row_filled:
            return
        sheet.row_filled = True
        self.filled += 1
        if self.filled > MAX_ROWS:
            raise TooMuchError(too_many_rows(sheet.title))

    def _rectangles(self, sheet: _Sheet) -> None:
        if self.finished + sheet.rectangle > MAX_CELLS or self.cells > MAX_CELLS:
            raise TooMuchError(too_large(sheet.title, sheet.last_row, sheet.last_column))

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
    where = _(" (alle Blätter zusammen, zuletzt im Blatt „%(sheet)s“)", sheet=sheet) \
        if sheet else ""
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
        "formatierte Zellen zählen). Bitte löschen Sie leere Zeilen und Spalten unter und "
        "neben der Tabelle, teilen Sie die Datei auf oder kopieren Sie nur die Tabelle in "
        "eine neue Arbeitsmappe.", sheet=sheet, row=thousands(row),
        column=get_column_letter(column), max=thousands(MAX_CELLS))
    return message


def scan_xlsx(archive: zipfile.ZipFile, titles: dict[str, str] | None = None) -> None:
    """Stream every XML part once and raise :class:`TooMuchError` at the first limit.

    ``titles`` maps worksheet parts (``xl/worksheets/sheet1.xml``) to sheet names for the
    messages; see :func:`sheet_titles`. Damaged XML raises ``ValueError`` or
    ``expat.ExpatError``, which the caller reports as a damaged file.
    """
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise TooMuchError(_("Die Datei besteht aus mehr als %(max)s Teilen und ist keine "
                             "gewöhnliche Arbeitsmappe.", max=thousands(MAX_PARTS)))
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise TooMuchError(_("Die Datei ist zu groß (entpackt über %(mb)d MB).",
                             mb=MAX_UNPACKED_BYTES // 2**20))
    scan = _Scan(time.monotonic() + MAX_SCAN_SECONDS)
    names = titles or {}
    for info in infos:
        if not info.filename.lower().endswith(_XML_PART):
            continue
        sheet = None
        if info.filename.startswith("xl/worksheets/"):
            sheet = _Sheet(names.get(info.filename, info.filename.rsplit("/", 1)[-1]))
        strings = info.filename == "xl/sharedStrings.xml"
        with archive.open(info) as stream:
            _parse(stream, _handlers(scan, sheet, strings))
        if sheet is not None:
            scan.finished += sheet.rectangle


#: Start and end of an element, and its text; what one part's parser calls.
_Handlers = tuple[Callable[[str, dict[str, str]], None], Callable[[str], None],
                  Callable[[str], None]]


def _handlers(scan: _Scan, sheet: _Sheet | None, strings: bool) -> _Handlers:
    """The expat callbacks for one part: count, check depth and the part's own limits."""
    depth = chars = elements = formats = 0
    other = sheet is None and not strings

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, chars, elements, formats
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise TooMuchError(_("Die Datei ist ungewöhnlich tief verschachtelt (mehr als "
                                 "%(max)d Ebenen) und ist keine gewöhnliche Arbeitsmappe.",
                                 max=MAX_DEPTH))
        scan.element()
        local = name.rpartition(":")[2]
        if sheet is not None:
            if local == "row":
                scan.row(sheet, attributes.get("r"))
            elif local == "c":
                scan.cell(sheet, attributes.get("r"))
            elif local in ("v", "is", "f"):
                scan.value(sheet)
            elif local in ("mergeCell", "hyperlink"):
                scan.span(sheet, attributes.get("ref"))
        elif strings and local == "si":
            scan.shared_string()
        elif other:
            formats += local == "xf"
            if elements > MAX_PART_ELEMENTS or formats > MAX_FORMATS:
                raise TooMuchError(_(
                    "Die Datei enthält ungewöhnlich viele Formate oder Objekte (mehr als "
                    "%(max)s in einem Teil der Datei). Bitte kopieren Sie nur die Tabelle "
                    "(Inhalte, ohne Formate: Einfügen → Werte) in eine neue Arbeitsmappe und "
                    "laden Sie diese hoch.", max=thousands(
                        MAX_FORMATS if formats > MAX_FORMATS else MAX_PART_ELEMENTS)))
        if local in ("t", "v"):
            chars = 0

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def text(data: str) -> None:
        nonlocal chars
        chars += len(data)
        if chars > MAX_CELL_CHARS + 1024:  # some room for whitespace around the text
            raise TooMuchError(_("Eine Zelle enthält mehr als %(max)s Zeichen (die Grenze "
                                 "von Excel). Bitte kürzen Sie den Text.",
                                 max=thousands(MAX_CELL_CHARS)))

    return start, end, text


def _parse(stream: IO[bytes], handlers: _Handlers) -> None:
    """Feed a part to expat in chunks; a DOCTYPE (entities) is refused outright."""
    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = \
        handlers
    parser.buffer_text = True

    def doctype(*_args: object) -> None:
        raise ValueError("DOCTYPE")  # spreadsheet parts never have one; entities expand

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    while chunk := stream.read(_CHUNK):
        parser.Parse(chunk, False)
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
            _parse(stream, (start, lambda _name: None, lambda _data: None))
    return found
