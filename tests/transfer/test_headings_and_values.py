"""Municipal lists as people really write them: headings, title rows, cells typed in German."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from hki.transfer.sheets import IMPORT_SHEETS, PLAN, STATUS, column_key
from hki.vocab import PlanState, Priority, Status
from tests.factories import Factories
from tests.transfer.test_import_errors import checked, only_error, workbook


def _heading(column: str, text: str, sheet: str = "Plan") -> Any:
    def edit(book: Workbook) -> None:
        book[sheet][f"{column}1"] = text
    return edit


@pytest.mark.parametrize("heading", [
    "Kooperationspartner/innen", "Kooperationspartner*innen", "Kooperationspartner:innen",
    "Kooperationspartner_innen", "KooperationspartnerInnen", "Kooperationspartner(innen)",
    "Kooperationspartner/-innen", "kooperations-partner", "KOOPERATIONSPARTNER ",
    "Beteiligte Akteure", "Partner/in", "Netzwerkpartner*innen",
])
def test_partner_headings_as_people_write_them(make: Factories, heading: str) -> None:
    check = checked(workbook(edit=_heading("E", heading)))
    assert check.errors == [], [str(p) for p in check.errors]
    node = next(n for n in check.nodes if n.number == "1.1.1")
    assert node.partners == ["VHS", "Kita-Verband"]


@pytest.mark.parametrize(("column", "heading"), [
    ("K", "Kosten (€)"), ("K", "Budget in Euro"), ("K", "Haushaltsmittel [EUR]"),
    ("D", "Verantwortliche Stelle"), ("D", "Federführende Stelle"), ("D", "Zuständigkeit"),
    ("G", "Laufzeit von"), ("H", "Laufzeit bis"), ("F", "Zielgruppe(n)"),
    ("B", "Titel der Maßnahme"), ("A", "Nr."), ("I", "Prio"),
])
def test_other_usual_headings_are_understood(make: Factories, column: str,
                                             heading: str) -> None:
    check = checked(workbook(edit=_heading(column, heading)))
    assert check.errors == [], [str(p) for p in check.errors]
    node = next(n for n in check.nodes if n.number == "1.1.2")
    assert node.values["budget_eur"] == 5000 and node.lead == "VHS"
    assert node.values["start_date"] == date(2026, 3, 1)


def test_no_two_columns_of_a_sheet_share_a_heading_nor_a_word_of_the_vocabulary() -> None:
    words = {column_key(str(w.label)) for w in (*Status, *Priority, *PlanState)}
    for sheet in IMPORT_SHEETS:
        owner: dict[str, str] = {}
        for column in sheet.columns:
            for heading in {column_key(h) for h in (column.header, *column.aliases)}:
                assert owner.setdefault(heading, column.key) == column.key, heading
                assert heading not in words, heading


def test_every_synonym_is_documented_for_coordinators() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "import.md").read_text("utf-8")
    for sheet in (PLAN, STATUS):
        for column in sheet.columns:
            if column.aliases:
                assert f"| {column.header} | {', '.join(column.aliases)} |" in docs


def test_an_unknown_heading_is_an_error_naming_the_nearest_known_one(make: Factories) -> None:
    error = only_error(checked(workbook(edit=_heading("E", "Kooperationspartnerschaften"))))
    assert (error.sheet, error.row, error.column) == ("Plan", 1, "E")
    assert "„Kooperationspartnerschaften“ kennt hki nicht" in error.message
    assert "Meinten Sie „Kooperationspartner" in error.message


def test_title_rows_above_the_headings_are_passed_over_and_said(make: Factories) -> None:
    def title_rows(book: Workbook) -> None:
        for name in ("Plan", "Sachstände"):
            book[name].insert_rows(1, 2)
            book[name]["A1"] = "Handlungskonzept Integration – Maßnahmenübersicht"
            book[name]["A2"] = "Stand: 30.11.2026"

    check = checked(workbook(edit=title_rows))
    assert check.errors == [], [str(p) for p in check.errors]
    assert len([n for n in check.nodes if n.level == 3]) == 2 and len(check.answers) == 2
    hint = next(p for p in check.warnings if p.sheet == "Plan" and p.row == 3)
    assert "Die Spaltenüberschriften stehen in Zeile 3" in hint.message


def test_a_sheet_without_known_headings_says_they_belong_in_row_one(make: Factories) -> None:
    def no_headings(book: Workbook) -> None:
        sheet = book["Plan"]
        for cell in sheet[1]:
            cell.value = None
        sheet["A1"] = "Maßnahmenliste"

    errors = [p for p in checked(workbook(edit=no_headings)).errors if p.sheet == "Plan"]
    assert len(errors) == 1
    assert "Die Überschriften gehören in Zeile 1" in errors[0].message


def test_numbers_made_dates_are_one_message_per_column(make: Factories) -> None:
    # What German Excel or LibreOffice make of "1.1.1" and "1.1.2" in a General cell.
    def as_dates(book: Workbook) -> None:
        book["Plan"]["A4"] = datetime(2001, 1, 1)
        book["Plan"]["A5"] = datetime(2001, 1, 2)
        book["Sachstände"]["A2"] = datetime(2001, 1, 1)
        book["Sachstände"]["A3"] = datetime(2001, 1, 2)

    errors = checked(workbook(edit=as_dates)).errors
    assert [(p.sheet, p.row, p.column) for p in errors] == [("Plan", None, "A")]
    assert "2 Nummern dieser Spalte in Datumsangaben umgewandelt" in errors[0].message
    assert "Zeile 4: 01.01.2001, eingegeben war wohl „1.1.1“" in errors[0].message
    assert "Betroffene Zeilen: 4–5" in errors[0].message
    # Only the status sheet: its message alone.
    def status_dates(book: Workbook) -> None:
        book["Sachstände"]["A2"] = datetime(2001, 1, 1)

    error = only_error(checked(workbook(edit=status_dates)))
    assert (error.sheet, error.column) == ("Sachstände", "A")


@pytest.mark.parametrize("written", ["laufend", "fortlaufend", "offen", "unbefristet",
                                     "Daueraufgabe", "–", None])
def test_open_ends_as_people_write_them(make: Factories, written: str | None) -> None:
    def end(book: Workbook) -> None:
        book["Plan"]["H4"] = written

    check = checked(workbook(edit=end))
    assert check.errors == []
    assert next(n for n in check.nodes if n.number == "1.1.1").values["end_date"] is None


def test_a_wrong_end_says_how_to_write_an_open_end(make: Factories) -> None:
    def end(book: Workbook) -> None:
        book["Plan"]["H4"] = "bis auf Weiteres"

    error = only_error(checked(workbook(edit=end)))
    assert (error.row, error.column) == (4, "H")
    assert "schreiben Sie „fortlaufend“ oder lassen die Zelle leer" in error.message


@pytest.mark.parametrize(("written", "euros"), [
    ("12.500", 12500), ("2.450.000", 2450000), ("12.500 €", 12500), ("2.450.000,00 EUR", 2450000),
    (2450000, 2450000), (12500.0, 12500), ("800", 800),
])
def test_budgets_in_whole_euros(make: Factories, written: Any, euros: int) -> None:
    check = checked(workbook(edit=lambda b: b["Plan"].__setitem__("K5", written)))
    assert check.errors == []
    assert next(n for n in check.nodes if n.number == "1.1.2").values["budget_eur"] == euros


@pytest.mark.parametrize("written", ["12,5", 12.5, "12.500,50 €", "zwölftausend"])
def test_budgets_with_cents_or_words_are_refused_in_euro_terms(make: Factories,
                                                                written: Any) -> None:
    error = only_error(checked(workbook(edit=lambda b: b["Plan"].__setitem__("K5", written))))
    assert (error.row, error.column) == (5, "K")
    assert "Euro" in error.message and "12,5 " not in error.message


def test_names_one_per_line_and_separated_by_semicolons(make: Factories) -> None:
    def partners(book: Workbook) -> None:
        book["Organisationen"].append(["Kirchen; Moscheegemeinden"])
        book["Plan"]["E4"] = "VHS; Kita-Verband\nKirchen; Moscheegemeinden"

    check = checked(workbook(edit=partners))
    assert check.errors == []
    node = next(n for n in check.nodes if n.number == "1.1.1")
    # The second line is a known name as a whole: kept; the first line is split.
    assert node.partners == ["VHS", "Kita-Verband", "Kirchen; Moscheegemeinden"]


# --- Found by an independent review: nothing may be lost without a word -------------------


def test_a_column_with_entries_but_no_heading_is_an_error(make: Factories) -> None:
    def unheaded(book: Workbook) -> None:
        book["Plan"]["Z4"] = "interne Anmerkung"

    error = only_error(checked(workbook(edit=unheaded)))
    assert (error.sheet, error.row, error.column) == ("Plan", 1, "Z")
    assert "Einträge (z. B. in Zeile 4), aber keine Überschrift" in error.message


def test_a_merged_title_above_the_headings_is_no_problem(make: Factories) -> None:
    def title(book: Workbook) -> None:
        sheet = book["Plan"]
        sheet.insert_rows(1, 2)
        sheet["A1"] = "Maßnahmenübersicht Handlungskonzept Integration"
        sheet.merge_cells("A1:F1")

    check = checked(workbook(edit=title))
    assert check.errors == [], [str(p) for p in check.errors]


def test_two_columns_meaning_the_same_are_named_both(make: Factories) -> None:
    error = only_error(checked(workbook(edit=_two_descriptions)))
    assert "Die Spalten C („Beschreibung“) und Z („Erläuterung“) meinen beide" in error.message


def _two_descriptions(book: Workbook) -> None:
    book["Plan"]["Z1"] = "Erläuterung"


def test_a_sheet_named_otherwise_that_holds_plan_rows_is_an_error(make: Factories) -> None:
    def renamed(book: Workbook) -> None:
        copy = book.copy_worksheet(book["Plan"])
        copy.title = "Maßnahmen 2026"

    errors = [p for p in checked(workbook(edit=renamed)).errors if p.sheet == "Maßnahmen 2026"]
    assert len(errors) == 1
    assert "hat Spalten wie das Blatt „Plan“" in errors[0].message
    assert "Bitte benennen Sie es in „Plan“ um" in errors[0].message


def test_other_extra_sheets_are_only_a_hint(make: Factories) -> None:
    def notes(book: Workbook) -> None:
        book.create_sheet("Notizen")["A1"] = "Telefonliste der Träger"

    check = checked(workbook(edit=notes))
    assert check.errors == []
    assert [p.sheet for p in check.warnings] == ["Notizen"]


def test_one_known_heading_is_enough_to_name_the_unknown_ones(make: Factories) -> None:
    def headings(book: Workbook) -> None:
        sheet = book["Plan"]
        for cell in sheet[1]:
            cell.value = None
        sheet["A1"], sheet["B1"], sheet["C1"] = "Lfd. Nr.", "Maßnahmentitel", "Verantw./Zust."

    errors = [p for p in checked(workbook(edit=headings)).errors if p.sheet == "Plan"]
    messages = " ".join(p.message for p in errors)
    assert "„Lfd. Nr.“ kennt hki nicht" in messages
    assert "„Verantw./Zust.“ kennt hki nicht" in messages
    assert "keine Spaltenüberschriften" not in messages


@pytest.mark.parametrize(("written", "value"), [(0.35, 35), ("35 %", 35), ("35%", 35)])
def test_percentages_count_in_percent(make: Factories, written: Any, value: int) -> None:
    def percent(book: Workbook) -> None:
        book["Plan"]["P5"] = written  # Zielwert
        book["Plan"]["P5"].number_format = "0%"
        book["Sachstände"]["F2"] = written
        book["Sachstände"]["F2"].number_format = "0%"

    check = checked(workbook(edit=percent))
    assert check.errors == [], [str(p) for p in check.errors]
    node = next(n for n in check.nodes if n.number == "1.1.2")
    assert node.indicators[0].values["target_value"] == value
    assert check.answers[0].progress == value


@pytest.mark.parametrize("written", ["12.500,-", "€ 12.500", "EUR 12.500", "12 500"])
def test_more_ways_to_write_euros(make: Factories, written: str) -> None:
    check = checked(workbook(edit=lambda b: b["Plan"].__setitem__("K5", written)))
    assert check.errors == []
    assert next(n for n in check.nodes if n.number == "1.1.2").values["budget_eur"] == 12500


def test_a_comma_between_names_gets_a_hint(make: Factories) -> None:
    def commas(book: Workbook) -> None:
        book["Plan"]["E4"] = "VHS, Kita-Verband"
        book["Plan"]["F4"] = "Kinder, Jugendliche"

    check = checked(workbook(edit=commas))
    error = only_error(check)
    assert "„VHS, Kita-Verband“ gibt es in hki nicht" in error.message
    assert "bitte mit Semikolon (;) trennen" in error.message
    hint = next(p for p in check.warnings if p.column == "F")
    assert "Zielgruppe „Kinder, Jugendliche“ wird neu angelegt" in hint.message
