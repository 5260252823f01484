"""Hostile .xlsx files are refused by counting, before openpyxl builds anything (#19 F1).

The files are written part by part, as an attacker would: a few kilobytes that claim
hundreds of thousands of strings, columns far right, rows far down, deep nesting, entities.
Each must end in a German message naming the limit, quickly, and a file inside the limits
must still be read.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import pytest
from flask import Flask

from hki.transfer import importing, scanning
from hki.transfer.reading import FileProblemError, open_workbook

_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/>{strings}</Types>')
_STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
    'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Maßnahmen" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>{strings}</Relationships>')
_STRINGS_REL = (
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx(rows: str, strings: str | None = None, prolog: str = "", styles: str = "",
         after: str = "", sheet_path: str = "worksheets/sheet1.xml", extra: str = "") -> bytes:
    """A workbook with one sheet „Maßnahmen“ whose <sheetData> is ``rows``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         _TYPES.format(strings=_STRINGS_TYPE if strings is not None else ""))
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(
            strings=_STRINGS_REL if strings is not None else "").replace(
                "worksheets/sheet1.xml", sheet_path))
        if extra:
            archive.writestr("xl/extra.bin", extra)
        archive.writestr(f"xl/{sheet_path}",
                         f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet '
                         f'xmlns="{_MAIN}"><sheetData>{rows}</sheetData>{after}</worksheet>')
        if styles:
            archive.writestr("xl/styles.xml", f'<?xml version="1.0" encoding="UTF-8"?>'
                             f'<styleSheet xmlns="{_MAIN}">{styles}</styleSheet>')
        if strings is not None:
            archive.writestr("xl/sharedStrings.xml",
                             f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst '
                             f'xmlns="{_MAIN}">{strings}</sst>')
    return buffer.getvalue()


def refused(data: bytes) -> tuple[str, float, int]:
    """The German message, the seconds and the peak bytes allocated until refusal."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FileProblemError) as raised:
            open_workbook(data)
        return str(raised.value), time.perf_counter() - started, \
            tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(autouse=True)
def _german(app: Flask) -> object:
    with app.test_request_context():
        yield


def test_a_shared_string_flood_is_refused_by_counting() -> None:
    """400,001 one-letter strings: 7 MB unpacked; counted, never built into a list."""
    data = xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                "<si><t>a</t></si>" * (scanning.MAX_CELLS + 1))
    message, _seconds, peak = refused(data)
    assert "mehr als 400.000 verschiedene Texte" in message
    assert peak < 5 * 2**20  # openpyxl's list of strings would be some 40 MB


def test_a_cell_beyond_the_last_allowed_column_is_refused() -> None:
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c>'
                                   '<c r="AMK1"><v>2</v></c></row>'))  # column 1025
    assert message.startswith("Das Blatt „Maßnahmen“ hat Zellen in mehr als 1.024 Spalten")


def test_wide_rows_are_refused_at_the_first_cell_too_far_right() -> None:
    """The attack's 400 rows × 16,384 cells, at a tenth: refused after the first row."""
    row = "".join(f"<c><v>{i}</v></c>" for i in range(16_384))
    data = xlsx("".join(f'<row r="{r}">{row}</row>' for r in range(1, 41)))
    message, seconds, _p = refused(data)
    assert "mehr als 1.024 Spalten" in message
    assert seconds < 5


def test_one_cell_in_the_last_row_is_refused_without_walking_the_rows_above() -> None:
    message, seconds, peak = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                                          '<row r="1048576"><c r="A1048576"><v>1</v></c>'
                                          "</row>"))
    assert "reicht bis Zeile 1.048.576" in message
    assert "leeren Zeilen unter der Tabelle" in message
    assert seconds < 5 and peak < 2**20


def test_the_rectangle_of_all_sheets_is_bounded() -> None:
    """800 rows × 800 columns of two cells: few cells, but a reader walks 640,000."""
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                                   '<row r="800"><c r="ADT800"><v>1</v></c></row>'))
    assert "reicht bis Zeile 800 und Spalte ADT" in message
    assert "mehr als 400.000 Zellen" in message


def test_a_flood_of_cell_formats_or_objects_is_refused() -> None:
    """2 million formats took 39 s and 1.6 GB in openpyxl, under the element limit."""
    formats = '<cellXfs count="70000">' + '<xf numFmtId="0"/>' * 70_000 + "</cellXfs>"
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>', styles=formats))
    assert "ungewöhnlich viele Formate oder Objekte" in message
    fonts = "<fonts>" + "<font><b/></font>" * 100_001 + "</fonts>"
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>', styles=fonts))
    assert "ungewöhnlich viele Formate oder Objekte" in message


@pytest.mark.parametrize(("after", "expected"), [
    # openpyxl makes a cell for every cell of a merged or linked range: 17 billion here.
    ('<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>', "1.024 Spalten"),
    ('<mergeCells count="1"><mergeCell ref="A1:A1048576"/></mergeCells>', "Zeile 1.048.576"),
    ('<mergeCells count="1"><mergeCell ref="A1:AMJ600"/></mergeCells>', "400.000 Zellen"),
    ('<hyperlinks><hyperlink ref="A1:ALL1000" display="x"/></hyperlinks>', "400.000 Zellen"),
    ('<mergeCells count="1"><mergeCell ref="A1:"/></mergeCells>', "beschädigt"),
])
def test_ranges_that_a_reader_would_fill_cell_by_cell_count(after: str, expected: str) -> None:
    message, seconds, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>',
                                        after=after))
    assert expected in message and seconds < 5


def test_deep_nesting_is_refused() -> None:
    deep = "<r>" * 150 + "</r>" * 150
    message, _s, _p = refused(xlsx(f'<row r="1"><c r="A1" t="inlineStr"><is>{deep}</is></c>'
                                   "</row>"))
    assert "tief verschachtelt" in message


def test_entities_are_refused_as_damage() -> None:
    laughs = ('<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              "]>")
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                                   "<si><t>&b;</t></si>", prolog=laughs))
    assert "beschädigt" in message


def test_a_cell_longer_than_excel_allows_is_refused() -> None:
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>'
                                   + "x" * 40_000 + "</t></is></c></row>"))
    assert "mehr als 32.767 Zeichen" in message


def test_element_and_time_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>' + "<row/>" * 50
    monkeypatch.setattr(scanning, "MAX_ELEMENTS", 40)
    assert "mehr als 40 Elemente" in refused(xlsx(rows))[0]
    monkeypatch.setattr(scanning, "MAX_ELEMENTS", 10**9)
    monkeypatch.setattr(scanning, "MAX_SCAN_SECONDS", 0.0)
    assert "dauert zu lange" in refused(xlsx("<row/>" * 20_001))[0]


def test_too_many_parts_and_unpacked_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanning, "MAX_PARTS", 5)
    assert "mehr als 5 Teilen" in refused(xlsx('<row r="1"/>', ""))[0]
    monkeypatch.setattr(scanning, "MAX_PARTS", 1000)
    monkeypatch.setattr(scanning, "MAX_UNPACKED_BYTES", 1000)
    assert "entpackt über" in refused(xlsx('<row r="1"/>', "<si><t>x</t></si>" * 100))[0]


def test_a_file_within_the_limits_is_read_with_its_sheet_names() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="ALL{r}"><v>{r}</v></c>'
                   "</row>" for r in range(1, 301))  # 300 rows up to column 1024
    book = open_workbook(xlsx(rows, "<si><t>Sprachkurs für Mütter</t></si>"))
    sheet = book["Maßnahmen"]
    assert sheet["A300"].value == "Sprachkurs für Mütter" and sheet["ALL300"].value == 300


def test_odd_references_are_damage_not_a_crash() -> None:
    for rows in ('<row r="x1"/>', '<row r="²"/>', '<row><c r="A1B"/></row>',
                 '<row r="1"><c r="ZZZZ1"/></row>'):
        message, _s, _p = refused(xlsx(rows))
        assert "beschädigt" in message, rows


def test_csv_is_bounded_by_the_same_rectangle() -> None:
    """One line 900 columns wide over 700 lines: few cells, but a rectangle of 631,800."""
    data = ("Nummer;Titel\n" + ";" * 899 + "x\n" + "1.1;Sprachkurs\n" * 700).encode()
    with pytest.raises(FileProblemError, match=r"mehr als 400\.000 Zellen"):
        importing.open_file(data, "plan.csv", "Plan")


# --- Found by an independent review: ways around the first version of the scan ----------


def test_a_sheet_stored_under_another_name_is_counted_too() -> None:
    """openpyxl follows the relationships; the scan goes by each part's root element."""
    for path in ("elsewhere/sheet1.xml", "worksheets/sheet1.dat"):
        message, seconds, _p = refused(xlsx(
            '<row r="1"><c r="A1"><v>1</v></c></row>', sheet_path=path,
            after='<mergeCells count="1"><mergeCell ref="A2:XFD1048576"/></mergeCells>'))
        assert "1.024 Spalten" in message and seconds < 5, path


def test_overlapping_merged_and_linked_ranges_add_up() -> None:
    """Five merges of 398,000 cells each: every one is filled cell by cell."""
    merges = '<mergeCell ref="A2:AMJ390"/>' * 5
    message, seconds, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>',
                                        after=f"<mergeCells>{merges}</mergeCells>"))
    assert "400.000 Zellen" in message and seconds < 5
    links = '<hyperlink ref="A2:AMJ200" display="x"/>' * 3
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>',
                                   after=f"<hyperlinks>{links}</hyperlinks>"))
    assert "400.000 Zellen" in message


def test_rows_without_cells_are_counted() -> None:
    """Each formatted empty row becomes an object; 100,001 of them are refused."""
    message, _s, _p = refused(xlsx('<row r="1" ht="1" customHeight="1"/>' * 100_001))
    assert "hki liest höchstens 100.000 Zeilen" in message


def test_long_range_lists_in_attributes_are_refused() -> None:
    """openpyxl makes an object of every range of a validation's sqref."""
    ranges = " ".join(["A1:B2"] * 200_000)
    message, _s, _p = refused(xlsx(
        '<row r="1"><c r="A1"><v>1</v></c></row>',
        after=f'<dataValidations count="1"><dataValidation sqref="{ranges}"/>'
              "</dataValidations>"))
    assert "ungewöhnlich viele Formate oder Objekte" in message


def test_the_text_of_a_cell_counts_across_its_runs_and_whitespace_does_not() -> None:
    runs = "<r><t>" + "x" * 20_000 + "</t></r>"
    message, _s, _p = refused(xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                                   f"<si>{runs * 2}</si>"))
    assert "mehr als 32.767 Zeichen" in message
    pretty = "".join(f'\n  <row r="{r}">\n    <c r="A{r}"/>\n  </row>'
                     for r in range(1, 3001)) + " " * 40_000
    open_workbook(xlsx(pretty))  # indentation and empty cells: no refusal


def test_many_comments_are_refused() -> None:
    comments = "".join(f'<comment ref="A{n}" authorId="0"><text><t>Hinweis</t></text>'
                       "</comment>" for n in range(1, 80_001))
    data = xlsx('<row r="1"><c r="A1"><v>1</v></c></row>',
                extra=f'<?xml version="1.0"?><comments xmlns="{_MAIN}"><commentList>'
                      f"{comments}</commentList></comments>")
    message, _s, _p = refused(data)
    assert "ungewöhnlich viele Formate oder Objekte" in message


def test_binary_parts_are_passed_over() -> None:
    book = open_workbook(xlsx('<row r="1"><c r="A1"><v>1</v></c></row>',
                              extra="\x89PNG\r\n\x1a\n not xml"))
    assert book["Maßnahmen"]["A1"].value == 1


def test_a_big_sheet_with_validations_after_its_cells_is_read() -> None:
    """The budget for elements that are not cells does not count the cells (a regression:
    a plan of 9,700 measures with the template's drop-down lists was refused)."""
    row = "".join(f"<c><v>{i}</v></c>" for i in range(12))
    rows = "".join(f'<row r="{r}">{row}</row>' for r in range(1, 9_001))
    book = open_workbook(xlsx(rows, after='<dataValidations count="1"><dataValidation '
                                          'type="list" sqref="E2:E9000"><formula1>"hoch,'
                                          'mittel"</formula1></dataValidation>'
                                          "</dataValidations>"))
    assert book["Maßnahmen"].max_row == 9_000
