"""LibreOffice files and German CSV become workbooks the import checks; .ods is written well.

The .ods, .odt and CSV fixtures were made by LibreOffice (see fixtures/formats/README.md);
written .ods files are opened by LibreOffice itself when ``soffice`` is installed.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from flask import Flask
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from pypdf import PdfReader
from sqlalchemy import select

from hki.extensions import db
from hki.plan.models import Measure
from hki.transfer import formats, importing, reading, scanning, writing
from hki.transfer.formats import csv_to_workbook, ods_to_workbook, to_ods
from hki.transfer.reading import CellError, FileProblemError
from hki.transfer.sheets import PLAN, STATUS
from hki.transfer.writing import Table
from hki.vocab import Role
from tests.factories import Factories

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
NS = {"office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
      "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
      "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
      "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
      "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"}
DECLARATIONS = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p != "manifest")
# Words of a real plan that break naive code: umlauts, ß, German quotes, a dash.
GERMAN = "Maßnahme „Brücke“ – Übergänge für Groß und Klein"


def ods(tables: str, *, mimetype: str = formats.ODS_TYPE, manifest: str = "") -> bytes:
    """A minimal .ods around ``tables`` (table:table elements), as the format prescribes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", (
            f'<manifest:manifest xmlns:manifest="{NS["manifest"]}" manifest:version="1.3">'
            f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
            f"{manifest}</manifest:manifest>"))
        archive.writestr("content.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {DECLARATIONS} '
            f'office:version="1.3"><office:body><office:spreadsheet>{tables}'
            "</office:spreadsheet></office:body></office:document-content>"))
    return out.getvalue()


def values(book: Workbook, sheet: str) -> list[list[Any]]:
    """The sheet's values row by row, trailing empty cells dropped."""
    rows = []
    for row in book[sheet].iter_rows(values_only=True):
        found = list(row)
        while found and found[-1] is None:
            found.pop()
        rows.append(found)
    return rows


def message(error: pytest.ExceptionInfo[FileProblemError]) -> str:
    return str(error.value)


# --- .ods in -------------------------------------------------------------------------


def test_libreoffice_file_keeps_values_types_formulas_and_merges() -> None:
    book = ods_to_workbook((FIXTURES / "calc.ods").read_bytes())
    assert book.sheetnames == ["Plan", "Sachstände"]
    plan = book["Plan"]
    # LibreOffice stores 1,048,571 empty rows and 16,384 columns; none of them arrive.
    assert (plan.max_row, plan.max_column) == (5, 8)
    assert plan["A2"].value == "1.1.1" and plan["A3"].value == "007"
    assert plan["B2"].value == "Sprachkitas „Mitte“\nzweite Zeile"
    assert plan["B3"].value == "  Straße  mit\tTab"
    assert plan["C2"].value == date(2026, 1, 1) and type(plan["C2"].value) is date
    assert plan["D2"].value == datetime(2026, 3, 31, 14, 30)
    assert (plan["E2"].value, plan["E2"].number_format) == (0.25, "0%")
    assert reading.whole(plan["E2"], 0, 100, "Fortschritt") == 25
    assert reading.whole(plan["E3"], 0, 100, "Fortschritt") == 100
    assert plan["F2"].value == 1250 and type(plan["F2"].value) is int
    assert plan["F3"].value == 2.5 and plan["H2"].value == 3
    assert plan["G2"].data_type == "f"
    with pytest.raises(CellError, match="Formel"):
        reading.raw(plan["G2"])
    # Text that only looks like a formula is text.
    assert plan["G3"].data_type == "s" and reading.text(plan["G3"], 100) == "=nur Text"
    assert [str(r) for r in plan.merged_cells.ranges] == ["B4:C5"]
    assert plan["B4"].value == "verbunden"
    assert values(book, "Sachstände") == [["Maßnahme (Nr.)", "Stand am", "Umsetzungsstand"],
                                         ["1.1.1", date(2026, 3, 31), "in Umsetzung"]]


def test_merged_cells_are_refused_by_the_import() -> None:
    book = ods_to_workbook((FIXTURES / "calc.ods").read_bytes())
    rows, _records = reading.read_records(book["Plan"], PLAN, ())
    assert any("B4:C5 sind verbunden" in p.message for p in rows.problems)


def test_value_types_text_runs_and_repeats_as_written() -> None:
    cells = (
        '<table:table-cell office:value-type="currency" office:currency="EUR" '
        'office:value="1250.5"><text:p>1.250,50 €</text:p></table:table-cell>'
        '<table:table-cell office:value-type="boolean" office:boolean-value="true">'
        "<text:p>WAHR</text:p></table:table-cell>"
        '<table:table-cell office:value-type="time" office:time-value="PT14H30M00S"/>'
        '<table:table-cell office:value-type="date" '
        'office:date-value="2026-03-31T08:15:30.123456789"/>'
        '<table:table-cell office:value-type="string"><text:p>a<text:s text:c="3"/>b'
        "<text:tab/>c<text:line-break/>d <text:span>e</text:span></text:p>"
        "<office:annotation><text:p>Kommentar</text:p></office:annotation>"
        "<text:p>zweiter   Absatz</text:p></table:table-cell>"
        '<table:table-cell office:value-type="string" office:string-value="als Attribut"/>'
        '<table:table-cell office:value-type="date" office:date-value="kein Datum">'
        "<text:p>31.02.2026</text:p></table:table-cell>")
    data = ods(
        '<table:table table:name="Werte">'
        f"<table:table-row>{cells}</table:table-row>"
        '<table:table-row table:number-rows-repeated="2"><table:table-cell '
        'table:number-columns-repeated="3" office:value-type="float" office:value="7"/>'
        '<table:covered-table-cell table:number-columns-repeated="2"/>'
        '<table:table-cell office:value-type="percentage" office:value="0.5"/>'
        '<table:table-cell table:number-columns-repeated="16378"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048573">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        "</table:table>"
        '<table:table table:name="Leer"/>')
    book = ods_to_workbook(data)
    assert book.sheetnames == ["Werte", "Leer"]
    assert values(book, "Werte") == [
        [1250.5, True, dt_time(14, 30), datetime(2026, 3, 31, 8, 15, 30, 123456),
         "a   b\tc\nd e\nzweiter Absatz", "als Attribut", "31.02.2026"],
        [7, 7, 7, None, None, 0.5],
        [7, 7, 7, None, None, 0.5],
    ]
    assert book["Werte"]["F2"].number_format == "0%"
    assert book["Leer"].max_row == 1


def test_repeated_filled_rows_are_refused_without_expanding_them() -> None:
    data = ods('<table:table table:name="Plan"><table:table-row table:number-rows-repeated='
               '"1048576"><table:table-cell office:value-type="string"><text:p>x</text:p>'
               "</table:table-cell></table:table-row></table:table>")
    started = time.perf_counter()
    with pytest.raises(FileProblemError) as error:
        ods_to_workbook(data)
    assert time.perf_counter() - started < 1
    assert ("mehr als 10.000 ausgefüllte Zeilen (alle Blätter zusammen; die Grenze wurde im "
            "Blatt „Plan“ überschritten)") in message(error)


def test_repeated_filled_columns_and_far_rows_are_refused() -> None:
    wide = ods('<table:table table:name="Plan"><table:table-row><table:table-cell '
               'table:number-columns-repeated="16384" office:value-type="float" '
               'office:value="1"/></table:table-row></table:table>')
    with pytest.raises(FileProblemError, match=r"mehr als 1\.024 ausgefüllte Spalten"):
        ods_to_workbook(wide)
    far = ods('<table:table table:name="Plan"><table:table-row table:number-rows-repeated='
              '"500000"><table:table-cell/></table:table-row><table:table-row>'
              '<table:table-cell office:value-type="float" office:value="1"/>'
              "</table:table-row></table:table>")
    with pytest.raises(FileProblemError, match=r"mehr als 100\.000 Zeilen"):
        ods_to_workbook(far)


def test_merged_ranges_are_bounded() -> None:
    data = ods('<table:table table:name="Plan"><table:table-row><table:table-cell '
               'table:number-rows-spanned="1048576" table:number-columns-spanned="16384">'
               "<text:p>alles</text:p></table:table-cell></table:table-row></table:table>")
    sheet = ods_to_workbook(data)["Plan"]
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:CV100"]


def test_millions_of_empty_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_CELLS", 100)
    rows = "<table:table-row><table:table-cell/></table:table-row>" * 300
    with pytest.raises(FileProblemError, match=r"mehr als 400 Zellen \(auch leere\)"):
        ods_to_workbook(ods(f'<table:table table:name="Plan">{rows}</table:table>'))


def test_deeply_nested_text_is_refused_as_damaged() -> None:
    nested = "<text:span>" * 5000 + "x" + "</text:span>" * 5000
    data = ods('<table:table table:name="Plan"><table:table-row><table:table-cell '
               f'office:value-type="string"><text:p>{nested}</text:p></table:table-cell>'
               "</table:table-row></table:table>")
    with pytest.raises(FileProblemError, match="beschädigt"):
        ods_to_workbook(data)


def test_size_limit_counts_unpacked_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanning, "MAX_UNPACKED_BYTES", 2000)
    data = ods('<table:table table:name="Plan"><table:table-row><table:table-cell '
               f'office:value-type="string"><text:p>{"x" * 5000}</text:p></table:table-cell>'
               "</table:table-row></table:table>")
    assert len(data) < 2000
    with pytest.raises(FileProblemError, match="zu groß"):
        ods_to_workbook(data)


def test_text_document_is_refused_as_such() -> None:
    data = (FIXTURES / "letter.odt").read_bytes()
    assert formats.is_opendocument(data)
    with pytest.raises(FileProblemError) as error:
        ods_to_workbook(data)
    assert "Textdokument" in message(error) and "keine Tabelle" in message(error)
    assert "Excel oder LibreOffice Calc" in message(error)


def test_password_protected_file_is_refused() -> None:
    with pytest.raises(FileProblemError) as error:
        ods_to_workbook((FIXTURES / "encrypted.ods").read_bytes())
    assert "Kennwort" in message(error) and "LibreOffice" in message(error)


@pytest.mark.parametrize(("data", "expected"), [
    (b"Nummer;Titel\n1;x\n", "keine Tabelle im OpenDocument-Format"),
    (ods("", mimetype="application/vnd.oasis.opendocument.presentation"), "Präsentation"),
    (ods("<table:table><table:table-row>"), "beschädigt"),
    (ods('<table:table table:name="P"><table:table-row><table:table-cell '
         'table:number-columns-repeated="-3"/></table:table-row></table:table>'), "beschädigt"),
])
def test_other_files_get_a_german_message(data: bytes, expected: str) -> None:
    with pytest.raises(FileProblemError, match=expected):
        ods_to_workbook(data)


def test_entity_expansion_is_refused() -> None:
    data = ods("")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "content.xml":
                part = part.replace(b'<?xml version="1.0" encoding="UTF-8"?>', (
                    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')).replace(
                    b"<office:spreadsheet>", b"<office:spreadsheet>&b;")
            target.writestr(info, part)
    with pytest.raises(FileProblemError, match="beschädigt"):
        ods_to_workbook(out.getvalue())


def test_opendocument_is_told_from_other_files() -> None:
    assert formats.is_opendocument((FIXTURES / "calc.ods").read_bytes())
    assert not formats.is_opendocument(writing.to_xlsx([Table("Plan", [("Nummer", 10)])]))
    assert not formats.is_opendocument(b"Nummer;Titel\n")


# --- CSV in --------------------------------------------------------------------------

ROWS = [["Nummer", "Titel", "Federführung", "Beginn", "Budget (EUR)"],
        ["1.1.1", GERMAN, "Jugendamt", "31.12.2025", "1.250,50"],
        ["1.1.2", "Zwei Zeilen\nmit Umbruch; Semikolon, Komma\tTab", "VHS", "03.2026", ""],
        ["1.1.3", '"Zitat" mit Anführungszeichen', "Straßenbauamt", "", "12"]]


def encoded(rows: list[list[str]], encoding: str, delimiter: str) -> bytes:
    """A CSV as Excel writes it: quoted where needed, CRLF line ends."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8-sig", ";"), ("utf-8", ";"), ("cp1252", ";"), ("utf-8", ","), ("cp1252", ","),
    ("utf-16", "\t"), ("utf-8-sig", "\t")])
def test_csv_encodings_and_separators(encoding: str, delimiter: str) -> None:
    book = csv_to_workbook(encoded(ROWS, encoding, delimiter), "HKI Musterstadt 2026–2030")
    assert book.sheetnames == ["Konzept", "Plan"]
    assert values(book, "Konzept") == [["Angabe", "Wert"], ["Titel", "HKI Musterstadt 2026–2030"]]
    expected = [[v.replace("\r\n", "\n") for v in row] for row in ROWS]
    expected[2] = expected[2][:4]  # an empty last cell is no cell
    assert values(book, "Plan") == [[v or None for v in row] for row in expected]
    assert all(isinstance(c.value, str) for row in book["Plan"].iter_rows() for c in row
               if c.value is not None)


@pytest.mark.parametrize("name", ["plan-cp1252.csv", "plan-utf8-comma.csv"])
def test_csv_written_by_libreoffice(name: str) -> None:
    book = csv_to_workbook((FIXTURES / name).read_bytes(), "Plan A")
    assert values(book, "Plan") == [
        ["Nummer", "Titel", "Federführung", "Beginn"],
        ["1.1.1", "Sprachkitas „Mitte“ für Groß und Klein", "Jugendamt", "01.01.2026"],
        ["1.1.2", "Elterncafé\nmit Zeilenumbruch; und Semikolon", "VHS, Mitte", "03.2026"]]
    plan = book["Plan"]
    assert reading.day(plan["D2"]) == date(2026, 1, 1)
    assert reading.day(plan["D3"], month_end=True) == date(2026, 3, 31)


def test_csv_of_status_answers_goes_to_the_status_sheet() -> None:
    header = [c.header for c in STATUS.columns]
    book = csv_to_workbook(encoded([header, ["1.1.1", "", "", "31.03.2026", "in Umsetzung",
                                             "20", "läuft"]], "utf-8-sig", ";"), "P")
    assert book.sheetnames == ["Konzept", "Sachstände"]
    sheet = book["Sachstände"]
    rows, records = reading.read_records(sheet, STATUS, ("measure", "as_of", "status"))
    assert not [p for p in rows.problems if p.blocking]
    assert reading.day(records[0][1]["as_of"]) == date(2026, 3, 31)
    assert reading.whole(records[0][1]["progress"], 0, 100, "Fortschritt") == 20
    # The plan export has "Stand vom" (a status alias) but not the status column itself.
    plan_header = [c.header for c in PLAN.columns]
    assert csv_to_workbook(encoded([plan_header], "utf-8", ";"), "P").sheetnames[1] == "Plan"


def test_csv_written_by_hki_reads_back() -> None:
    table = Table("Plan", [("Nummer", 10), ("Titel", 50), ("Budget", 12)],
                  [["1.1", "-Statistik", 1250.5], ["1.2", "=nicht rechnen", None],
                   ["1.3", GERMAN + "\nzweite Zeile", 7]])
    book = csv_to_workbook(writing.to_csv(table), "P")
    assert values(book, "Plan") == [["Nummer", "Titel", "Budget"],
                                    ["1.1", "-Statistik", "1250,5"],
                                    ["1.2", "=nicht rechnen"],
                                    ["1.3", GERMAN + "\nzweite Zeile", "7"]]
    assert book["Plan"]["B3"].data_type == "s"


def test_csv_excel_separator_line() -> None:
    data = b"sep=,\r\nNummer,Titel\r\n1.1,Eins; zwei\r\n"
    assert values(csv_to_workbook(data, "P"), "Plan") == [["Nummer", "Titel"],
                                                          ["1.1", "Eins; zwei"]]


@pytest.mark.parametrize(("data", "expected"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "keine lesbare CSV-Datei"),
    (writing.to_xlsx([Table("Plan", [("Nummer", 10)])]), "keine lesbare CSV-Datei"),
    (b"Nummer;Titel\n1;Gr\x81\xdfe\n", "keine lesbare CSV-Datei"),
    (b"  \r\n\r\n", "leer"),
    (b'Nummer;Titel\n1;"' + b"x" * 200_000 + b"\n", "Anführungszeichen"),
])
def test_csv_problems_in_german(data: bytes, expected: str) -> None:
    with pytest.raises(FileProblemError, match=expected):
        csv_to_workbook(data, "P")


def test_csv_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanning, "MAX_ROWS", 3)
    rows = [["Nummer", "Titel"]] + [[f"1.{i}", "x"] for i in range(3)]
    with pytest.raises(FileProblemError, match="mehr als 3 ausgefüllte Zeilen"):
        csv_to_workbook(encoded(rows, "utf-8", ";"), "P")
    with pytest.raises(FileProblemError, match="Spalten"):
        csv_to_workbook(b";" * 2000 + b"x\n", "P")
    monkeypatch.setattr(scanning, "MAX_UNPACKED_BYTES", 10)
    with pytest.raises(FileProblemError, match="zu groß"):
        csv_to_workbook(b"Nummer;Titel\n1;x\n", "P")


# --- .ods out ------------------------------------------------------------------------

TODAY = date(2026, 4, 1)


def plan_table(rows: int = 3) -> Table:
    """The Plan sheet as exports write it, with text, dates, money and a drop-down list."""
    body = []
    for i in range(1, rows + 1):
        body.append([f"1.{i}.1", f"{GERMAN} {i}", "Zeile eins\nZeile zwei", "Jugendamt",
                     "VHS\nKita-Verband", "Kinder", date(2026, 1, i % 28 + 1), "fortlaufend",
                     "hoch", "=SUMME(A1)", 125_000 + i, "Teilnehmende", "Personen", 0, None,
                     120.5, date(2030, 12, 31), "-Statistik @x", "in Umsetzung", 20,
                     datetime(2026, 3, 31, 14, 15)])
    table = Table.of(PLAN, body)
    table.text_columns, table.money_columns = (0,), (10,)
    table.choices = {8: ["hoch", "mittel", "niedrig"]}
    table.title = "HKI Musterstadt 2026–2030"
    return table


def status_table() -> Table:
    table = Table.of(STATUS, [["1.1.1", "Titel", "Jugendamt", date(2026, 3, 31),
                               "in Umsetzung", 20, "  zwei  Leerzeichen\x01\x0bneue Zeile",
                               datetime(2026, 4, 1, 9, 5), "Anna"]])
    table.choices = {4: ["in Planung", "in Umsetzung"]}
    table.text_columns = (0,)
    return table


def part(data: bytes, name: str) -> Any:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return fromstring(archive.read(name))


def test_ods_is_a_valid_package_with_print_layout() -> None:
    data = to_ods([plan_table(), status_table()], today=TODAY)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert archive.read("mimetype") == formats.ODS_TYPE.encode()
    content = part(data, "content.xml")
    assert not content.findall(".//table:table-cell[@table:formula]", NS)
    tables = content.findall(".//table:table", NS)
    assert [t.get(f"{{{NS['table']}}}name") for t in tables] == ["Plan", "Sachstände"]
    for table in tables:
        assert table.find("table:table-header-rows/table:table-row", NS) is not None
    conditions = [v.get(f"{{{NS['table']}}}condition") for v in
                  content.findall(".//table:content-validation", NS)]
    assert conditions == ['of:cell-content-is-in-list("hoch";"mittel";"niedrig")',
                          'of:cell-content-is-in-list("in Planung";"in Umsetzung")']
    layout = part(data, "styles.xml").find(".//style:page-layout-properties", NS)
    assert layout.get(f"{{{NS['style']}}}print-orientation") == "landscape"
    # The Plan sheet's 21 columns print two pages wide, so that the text stays readable.
    assert layout.get(f"{{{NS['style']}}}scale-to-X") == "2"
    assert layout.get(f"{{{NS['fo']}}}page-width") == "29.7cm"
    footer = "".join(part(data, "styles.xml").find(".//style:footer", NS).itertext())
    assert "HKI Musterstadt 2026–2030" in footer and "01.04.2026" in footer


def test_ods_reads_back_with_the_same_values_and_types() -> None:
    plan, status = plan_table(), status_table()
    book = ods_to_workbook(to_ods([plan, status], today=TODAY))
    assert values(book, "Plan")[0] == [h for h, _w in plan.headers]
    assert values(book, "Plan")[1] == [
        "1.1.1", f"{GERMAN} 1", "Zeile eins\nZeile zwei", "Jugendamt", "VHS\nKita-Verband",
        "Kinder", date(2026, 1, 2), "fortlaufend", "hoch", "=SUMME(A1)", 125_001,
        "Teilnehmende", "Personen", 0, None, 120.5, date(2030, 12, 31), "-Statistik @x",
        "in Umsetzung", 20, datetime(2026, 3, 31, 14, 15)]
    assert book["Plan"]["J2"].data_type == "s"
    assert values(book, "Sachstände")[1][6] == "  zwei  Leerzeichen\nneue Zeile"
    # The drop-down rows below the data are empty: nothing arrives from them.
    assert book["Plan"].max_row == 4


def test_ods_local_time_for_stored_timestamps(app: Flask) -> None:
    table = Table("Verlauf", [("Erfasst am", 18)], [[datetime(2026, 7, 1, 10, 0, tzinfo=UTC)]])
    with app.app_context():
        data = to_ods([table])
    assert values(ods_to_workbook(data), "Verlauf")[1] == [datetime(2026, 7, 1, 12, 0)]




def test_libreoffice_opens_the_ods(soffice: Callable[[Path, str], Path],
                                   tmp_path: Path) -> None:
    source = tmp_path / "export.ods"
    source.write_bytes(to_ods([plan_table(), status_table()], today=TODAY))
    book = load_workbook(soffice(source, "xlsx"))
    plan = book["Plan"]
    assert [c.value for c in plan[1]] == [c.header for c in PLAN.columns]
    assert plan["A2"].value == "1.1.1" and plan["A2"].data_type == "s"
    assert plan["B2"].value == f"{GERMAN} 1" and plan["C2"].value == "Zeile eins\nZeile zwei"
    assert plan["G2"].is_date and plan["G2"].value == datetime(2026, 1, 2)
    assert plan["G2"].number_format.replace("\\", "").lower() == "dd.mm.yyyy"
    assert plan["U2"].is_date and plan["U2"].value == datetime(2026, 3, 31, 14, 15)
    assert plan["J2"].value == "=SUMME(A1)" and plan["J2"].data_type == "s"
    assert plan["K2"].value == 125_001 and "#,##0" in plan["K2"].number_format
    assert "€" in plan["K2"].number_format
    assert plan["P2"].value == 120.5 and plan["R2"].value == "-Statistik @x"
    assert plan.print_title_rows == "$1:$1"
    assert plan.page_setup.orientation == "landscape" and plan.page_setup.fitToWidth == 2
    assert plan.auto_filter.ref == "A1:U4"
    footer = plan.oddFooter
    assert footer is not None
    assert "HKI Musterstadt 2026–2030" in (footer.left.text or "")
    assert "01.04.2026" in (footer.right.text or "")
    checks = {str(v.sqref): v.formula1 for v in plan.data_validations.dataValidation}
    assert next(iter(checks.values())) == '"hoch,mittel,niedrig"'
    assert next(iter(checks)).startswith("I2:I")
    widths = {k: round(d.width) for k, d in plan.column_dimensions.items()}
    assert widths["A"] < widths["I"] + 3 < widths["B"]  # 10, 10 and 50 characters
    status = book["Sachstände"]
    assert status["G2"].value == "  zwei  Leerzeichen\nneue Zeile"
    assert status["G2"].alignment.wrap_text


def test_libreoffice_prints_landscape_with_headers_on_every_page(
        soffice: Callable[[Path, str], Path], tmp_path: Path) -> None:
    table = Table("Sachstände", [("Maßnahme (Nr.)", 12), ("Erläuterung", 60),
                                 ("Stand am", 12), ("Budget (EUR)", 12)],
                  [[f"1.{i}", f"Erläuterung {i}\nmit zweiter Zeile", date(2026, 3, 31),
                    125_000 + i] for i in range(120)],
                  money_columns=(3,), title="HKI Musterstadt 2026–2030")
    source = tmp_path / "print.ods"
    source.write_bytes(to_ods([table], today=TODAY))
    pdf = PdfReader(soffice(source, "pdf"))
    assert len(pdf.pages) > 1
    for page in pdf.pages:
        assert page.mediabox.width > page.mediabox.height  # landscape
        text = page.extract_text()
        assert "Erläuterung Stand am" in text and "HKI Musterstadt 2026–2030" in text
        assert "01.04.2026" in text
    first = pdf.pages[0].extract_text()
    assert "31.03.2026" in first and "125.000 €" in first


def test_empty_and_odd_tables_are_written() -> None:
    tables = [Table("Erläuterung", [("", 110)], [["Ein Absatz"], [""]], has_header=False),
              Table("a/b [c]", [("X", 10)]),
              Table("a b  c", [("X", 10), ("Y", 10), ("Z", 10)],
                    [[True, 1.0, Decimal("1250")], [float("inf"), None, Decimal("0.5")]],
                    money_columns=(2,))]
    book = ods_to_workbook(to_ods(tables, today=TODAY))
    assert book.sheetnames == ["Erläuterung", "a b  c", "a b  c (2)"]
    assert values(book, "Erläuterung") == [["Ein Absatz"]]
    assert values(book, "a b  c (2)") == [["X", "Y", "Z"], [True, 1, 1250], ["inf", None, 0.5]]


def test_durations_and_times() -> None:
    assert formats._duration("PT0S") == dt_time(0, 0)
    assert formats._duration("PT36H") == timedelta(hours=36)
    assert formats._duration("-PT1H") == timedelta(hours=-1)


# --- through the import ------------------------------------------------------------


def test_libreoffice_copy_and_csv_go_through_the_same_import(
        soffice: Callable[[Path, str], Path], tmp_path: Path, make: Factories) -> None:
    author = make.user(role=Role.COORDINATOR)
    book = load_workbook(io.BytesIO(writing.template()))
    labels = {r[0].value: r[0].row for r in book["Konzept"].iter_rows(min_row=2)}
    for label, value in (("Titel", "HKI Musterstadt"), ("Kommune", "Musterstadt"),
                         ("Gültig ab", date(2026, 1, 1)), ("Gültig bis", date(2030, 12, 31))):
        book["Konzept"][f"B{labels[label]}"] = value
    book["Organisationen"].append(["Jugendamt"])
    for row in (["1", "Sprache"], ["1.1", "Frühe Förderung"],
                ["1.1.1", GERMAN, "", "Jugendamt", "", "Kinder", date(2026, 1, 1),
                 "fortlaufend", "hoch", "", 1250]):
        book["Plan"].append(row)
    book["Sachstände"].append(["1.1.1", "", "", date(2026, 3, 31), "in Umsetzung", 0.2])
    book["Sachstände"]["F2"].number_format = "0%"
    book.save(tmp_path / "plan.xlsx")
    data = soffice(tmp_path / "plan.xlsx", "ods").read_bytes()
    check = importing.check_import(db.session, data, "plan.ods")
    assert check.errors == []
    assert check.summary() == {"Handlungskonzept neu": 1, "Organisation neu": 1,
                               "Zielgruppe neu": 1, "Handlungsfeld neu": 1, "Ziel neu": 1,
                               "Maßnahme neu": 1, "Sachstand neu": 1}
    importing.apply_import(db.session, check, author)
    measure = db.session.scalars(select(Measure)).one()
    assert (measure.title, measure.budget_eur) == (GERMAN, 1250)
    answers = encoded([["Maßnahme (Nr.)", "Stand am", "Umsetzungsstand", "Fortschritt (%)",
                        "Erläuterung"],
                       ["1.1.1", "30.04.2026", "in Umsetzung", "40", "Läuft „gut“\nweiter"]],
                      "cp1252", ";")
    check = importing.check_import(db.session, answers, "stand.csv",
                                   plan_title="HKI Musterstadt")
    assert check.errors == [] and check.summary() == {"Sachstand neu": 1}


# --- CSV as offices send it back (found by an independent review) ---------------------------


def _imported_plan(make: Factories) -> str:
    """The small plan of the import tests, in hki; its title."""
    from tests.transfer.test_import_errors import CONCEPT, checked, workbook

    importing.apply_import(db.session, checked(workbook()), make.user(role=Role.COORDINATOR))
    db.session.commit()
    return str(CONCEPT["Titel"])


def test_a_status_csv_with_a_title_line_goes_to_the_status_sheet(make: Factories) -> None:
    title = _imported_plan(make)
    data = encoded([["Sachstandsabfrage 2026", "", ""],
                    ["Maßnahme (Nr.)", "Stand am", "Umsetzungsstand (Auswahl)", "Fortschritt"],
                    ["1.1.1", "30.09.2026", "in Umsetzung", "40 %"]], "cp1252", ";")
    check = importing.check_import(db.session, data, "antworten.csv", title)
    assert check.errors == [], [str(p) for p in check.errors]
    assert [(a.number, a.progress) for a in check.answers] == [("1.1.1", 40)]


def test_numbers_a_program_wrote_back_as_dates_into_a_csv_are_one_message(
    make: Factories,
) -> None:
    title = _imported_plan(make)
    header = [c.header for c in PLAN.columns][:3]
    data = encoded([header, ["01.01.2001", "Sprachkitas", ""], ["02. Jan", "Elterncafés", ""],
                    ["01.01.2010", "Neu", ""]], "utf-8-sig", ";")
    errors = importing.check_import(db.session, data, "plan.csv", title).errors
    assert len(errors) == 1 and errors[0].column == "A"
    assert "3 Nummern dieser Spalte in Datumsangaben umgewandelt" in errors[0].message
    assert "eingegeben war wohl „1.1.1“" in errors[0].message


def test_a_plan_chosen_for_a_csv_must_exist(make: Factories) -> None:
    _imported_plan(make)
    data = encoded([["Maßnahme (Nr.)", "Stand am", "Umsetzungsstand"],
                    ["1.1.1", "30.09.2026", "in Umsetzung"]], "utf-8", ";")
    check = importing.check_import(db.session, data, "antworten.csv", "HKI Musterstadt 2026-2030")
    error = check.errors[0]
    assert len(check.errors) == 1 and not check.changes
    assert "Einen Plan „HKI Musterstadt 2026-2030“ gibt es in hki nicht." in error.message
    assert "Meinten Sie „HKI Musterstadt 2026–2030“?" in error.message


def test_a_plan_chosen_for_a_workbook_without_konzept_attaches_it(make: Factories) -> None:
    title = _imported_plan(make)
    table = Table(STATUS.name, [("Maßnahme (Nr.)", 12), ("Stand am", 12),
                                ("Umsetzungsstand", 18)],
                  [["1.1.1", date(2026, 9, 30), "in Umsetzung"]])
    check = importing.check_import(db.session, to_ods([table], today=date(2026, 10, 1)),
                                   "antworten.ods", title)
    assert check.errors == [] and len(check.answers) == 1
