"""Each kind of bad input gives its German message at the right place and writes nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from hki.auth.models import AuditEntry
from hki.extensions import db
from hki.plan.models import Field, Goal, Measure, Organisation, Plan, TargetGroup
from hki.transfer import importing, writing
from hki.transfer.importing import ImportCheck
from hki.transfer.models import DataImport
from hki.transfer.reading import Problem
from hki.transfer.scanning import MAX_ROWS
from hki.updates.models import StatusUpdate
from hki.vocab import PlanState, Role
from tests.factories import Factories

TABLES = (Plan, Field, Goal, Measure, Organisation, TargetGroup, StatusUpdate, DataImport,
          AuditEntry)

CONCEPT: dict[str, Any] = {"Titel": "HKI Musterstadt 2026–2030", "Kommune": "Musterstadt",
           "Gültig ab": date(2026, 1, 1), "Gültig bis": date(2030, 12, 31)}
PLAN_ROWS: list[list[Any]] = [
    ["1", "Sprache und Bildung"],
    ["1.1", "Frühe Förderung"],
    ["1.1.1", "Sprachkitas", "", "Jugendamt", "VHS; Kita-Verband", "Kinder",
     date(2026, 1, 1), "fortlaufend", "hoch"],
    ["1.1.2", "Elterncafés", "", "VHS", "", "Eltern; Neuzugewanderte", "03.2026",
     "12.2027", "mittel", "", 5000, "Teilnehmende", "Personen", 0, "", 120],
]
STATUS_ROWS: list[list[Any]] = [
    ["1.1.1", "", "", date(2026, 3, 31), "in Umsetzung", 20, "läuft an"],
    ["1.1.2", "", "", date(2026, 3, 31), "in Planung", 10, ""],
]


def workbook(concept: dict[str, Any] | None = None, plan: list[list[Any]] | None = None,
             status: list[list[Any]] | None = None,
             organisations: tuple[str, ...] = ("Jugendamt", "VHS", "Kita-Verband"),
             edit: Callable[[Workbook], None] | None = None) -> bytes:
    """A filled-in template; ``edit`` may change anything before it is saved."""
    book = load_workbook(io.BytesIO(writing.template()))
    rows = {r[0].value: n for n, r in enumerate(book["Konzept"].iter_rows(min_row=2), start=2)}
    for label, value in (concept or CONCEPT).items():
        book["Konzept"][f"B{rows[label]}"] = value
    for name in organisations:
        book["Organisationen"].append([name])
    for values in PLAN_ROWS if plan is None else plan:
        book["Plan"].append(values)
    for values in STATUS_ROWS if status is None else status:
        book["Sachstände"].append(values)
    if edit:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in TABLES}


def checked(data: bytes) -> ImportCheck:
    return importing.check_import(db.session, data, "test.xlsx")


def only_error(check: ImportCheck) -> Problem:
    assert len(check.errors) == 1, [str(p) for p in check.errors]
    return check.errors[0]


def test_a_valid_file_is_imported_with_everything_in_it(make: Factories) -> None:
    author = make.user(role=Role.COORDINATOR)
    check = checked(workbook())
    assert check.errors == []
    assert check.summary() == {"Handlungskonzept neu": 1, "Organisation neu": 3,
                               "Zielgruppe neu": 3, "Handlungsfeld neu": 1, "Ziel neu": 1,
                               "Maßnahme neu": 2, "Sachstand neu": 2}
    importing.apply_import(db.session, check, author)
    m1, m2 = db.session.scalars(select(Measure).order_by(Measure.number)).all()
    assert (m1.lead.name, sorted(p.name for p in m1.partners), m1.end_date) == (
        "Jugendamt", ["Kita-Verband", "VHS"], None)
    assert (m2.start_date, m2.end_date, m2.budget_eur) == (
        date(2026, 3, 1), date(2027, 12, 31), 5000)
    assert [(i.name, i.unit, i.target_value) for i in m2.indicators] == [
        ("Teilnehmende", "Personen", 120.0)]
    assert sorted(t.name for t in m2.target_groups) == ["Eltern", "Neuzugewanderte"]


def _set(cell: str, value: Any, sheet: str = "Plan") -> Callable[[Workbook], None]:
    def edit(book: Workbook) -> None:
        book[sheet][cell] = value
    return edit


def _merge(book: Workbook) -> None:
    book["Plan"].merge_cells("D4:D5")


# Plan rows start in row 2: 1 → row 2, 1.1 → 3, 1.1.1 → 4, 1.1.2 → 5.
CASES: list[tuple[str, dict[str, Any], tuple[str | None, int | None, str | None], str]] = [
    ("unknown organisation", {"edit": _set("D4", "Jugendamtt")},
     ("Plan", 4, "D"), "Die Organisation „Jugendamtt“ gibt es in hki nicht"),
    ("duplicate number", {"edit": _set("A5", "1.1.1")},
     ("Plan", 5, "A"), "Die Nummer 1.1.1 steht schon in Zeile 4"),
    ("bad date", {"edit": _set("G4", "32.13.2026")},
     ("Plan", 4, "G"), "„32.13.2026“ ist kein gültiges Datum"),
    ("status not in the vocabulary", {"edit": _set("E2", "fast fertig", "Sachstände")},
     ("Sachstände", 2, "E"), "„fast fertig“ gibt es hier nicht. Erlaubt sind: „nicht begonnen“"),
    ("progress out of range", {"edit": _set("F3", 140, "Sachstände")},
     ("Sachstände", 3, "F"), "Der Fortschritt liegt zwischen 0 und 100; hier steht 140"),
    ("merged cells", {"edit": _merge},
     ("Plan", 4, "D"), "Die Zellen D4:D5 sind verbunden"),
    ("empty required cell", {"edit": _set("B3", None)}, ("Plan", 3, "B"), "Der Titel fehlt"),
    ("empty lead", {"edit": _set("D5", None)}, ("Plan", 5, "D"), "Die Federführung fehlt"),
    ("formula", {"edit": _set("K5", "=2*2500")}, ("Plan", 5, "K"), "enthält eine Formel"),
    ("status rule", {"edit": _set("E3", "verzögert", "Sachstände")},
     ("Sachstände", 3, "G"), "Bei „verzögert“ ist eine Begründung nötig"),
    ("future date", {"edit": _set("D2", date(2099, 1, 1), "Sachstände")},
     ("Sachstände", 2, "D"), "liegt in der Zukunft"),
    ("unknown measure", {"edit": _set("A3", "9.9.9", "Sachstände")},
     ("Sachstände", 3, "A"), "Eine Maßnahme 9.9.9 gibt es in diesem Plan nicht"),
    ("missing parent", {"edit": _set("A3", "2.1")},
     ("Plan", 3, "A"), "Zu Ziel 2.1 fehlt die übergeordnete Zeile 2"),
    ("end before start", {"edit": _set("H5", "01.2026")},
     ("Plan", 5, "H"), "Das Ende (31.01.2026) liegt vor dem Beginn (01.03.2026)"),
    ("budget too large", {"edit": _set("K5", 3_000_000_000)},
     ("Plan", 5, "K"), "Das Budget liegt zwischen 0 und 2.147.483.647 Euro"),
    ("implausible year", {"concept": {**CONCEPT, "Gültig ab": date(1, 1, 1)}},
     ("Konzept", 6, "B"), "Das Jahr 1 ist nicht plausibel"),
    ("truth value as text", {"edit": _set("B3", True)}, ("Plan", 3, "B"), "Wahrheitswert"),
    ("number of the wrong form", {"edit": _set("A5", "1.1.x")},
     ("Plan", 5, "A"), "„1.1.x“ ist keine gültige Nummer"),
    ("missing column", {"edit": _set("B1", None)},
     ("Plan", 1, None), "Die Spalte „Titel“ fehlt"),
    ("missing plan data", {"concept": {"Titel": "Neu"}},
     ("Konzept", None, None), "fehlen: Kommune, Gültig ab, Gültig bis"),
]


@pytest.mark.parametrize(("kind", "options", "where", "message"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_error_names_its_place_and_nothing_is_written(
    make: Factories, kind: str, options: dict[str, Any],
    where: tuple[str | None, int | None, str | None], message: str,
) -> None:
    author = make.user(role=Role.COORDINATOR)
    make.commit()
    before = counts()
    check = checked(workbook(**options))
    # Some mistakes have a consequence elsewhere (a number given twice leaves the other
    # measure without a row), so the error is looked up by its place.
    problem = next((p for p in check.errors if (p.sheet, p.row, p.column) == where), None)
    assert problem is not None, [str(p) for p in check.errors]
    assert message in problem.message
    assert str(problem).startswith(f"Blatt „{where[0]}“")
    with pytest.raises(ValueError, match="problems"):
        importing.apply_import(db.session, check, author)
    db.session.rollback()
    assert counts() == before


def _encrypted() -> bytes:
    plain = io.BytesIO(workbook())
    office = OOXMLFile(plain)
    out = io.BytesIO()
    office.encrypt("geheim", out)
    return out.getvalue()


def _rows(n: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sachstände")
    sheet.append(["Maßnahme (Nr.)", "Stand am", "Umsetzungsstand"])
    for i in range(n):
        sheet.append([f"1.1.{i}", "31.12.2025", "in Umsetzung"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


FILE_CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("wrong file type", lambda: b"Nummer;Titel\n1;Sprache\n",
     "Das ist keine Tabellendatei"),
    ("old xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
     "alten Excel-Format (.xls)"),
    ("word document", _not_a_workbook, "keine Tabelle, sondern vielleicht ein Text"),
    ("password-protected", _encrypted, "mit einem Kennwort geschützt"),
    ("corrupt", lambda: workbook()[:3000], "beschädigt"),
    ("100,000 rows", lambda: _rows(100_000),
     "mehr als 10.000 ausgefüllte Zeilen (alle Blätter zusammen; die Grenze wurde im Blatt "
     "„Sachstände“ überschritten)"),
]


@pytest.mark.parametrize(("kind", "data", "message"), FILE_CASES,
                         ids=[c[0] for c in FILE_CASES])
def test_unreadable_files_are_refused_with_a_german_reason(
    make: Factories, kind: str, data: Callable[[], bytes], message: str,
) -> None:
    before = counts()
    problem = only_error(checked(data()))
    assert message in problem.message
    assert problem.sheet is None and problem.row is None
    assert counts() == before
    assert MAX_ROWS == 10_000


def test_column_order_case_and_spaces_are_tolerated_and_unknown_columns_are_errors(
    make: Factories,
) -> None:
    def shuffle(book: Workbook, unknown: bool) -> None:
        sheet = book["Sachstände"]
        sheet["A1"], sheet["D1"] = "  maßnahme (NR.) ", "STAND AM"
        sheet["E1"] = "umsetzungsstand"
        if unknown:
            sheet["J1"], sheet["J2"] = "Interne Notizen", "geheim"
        sheet.move_range("A1:J3", cols=2)  # columns no longer where the template has them

    check = checked(workbook(edit=lambda b: shuffle(b, unknown=False)))
    assert check.errors == []
    assert len(check.answers) == 2
    # A heading hki does not know would lose its content without a word: an error.
    error = only_error(checked(workbook(edit=lambda b: shuffle(b, unknown=True))))
    assert (error.sheet, error.row, error.column) == ("Sachstände", 1, "L")
    assert "„Interne Notizen“ kennt hki nicht" in error.message
    assert "oder löschen Sie sie" in error.message


def test_existing_plan_changes_are_listed_and_a_second_import_changes_nothing(
    make: Factories,
) -> None:
    author = make.user(role=Role.COORDINATOR)
    importing.apply_import(db.session, checked(workbook()), author)
    db.session.commit()
    def edit(book: Workbook) -> None:
        book["Plan"]["B4"], book["Plan"]["D5"] = "Sprachkitas plus", "Jugendamt"

    changed = workbook(edit=edit)
    check = checked(changed)
    assert check.errors == []
    measures = [c for c in check.changes if c.entity == "Maßnahme"]
    assert [(c.kind, c.label, c.details) for c in measures] == [
        ("geändert", "1.1.1 Sprachkitas plus", ("Titel: Sprachkitas → Sprachkitas plus",)),
        ("geändert", "1.1.2 Elterncafés", ("Federführung: VHS → Jugendamt",)),
    ]
    assert [c.entity for c in check.changes] == ["Maßnahme", "Maßnahme"]  # answers known
    importing.apply_import(db.session, check, author)
    db.session.commit()
    assert db.session.scalars(select(Measure.title).order_by(Measure.number)).all() == [
        "Sprachkitas plus", "Elterncafés"]
    assert checked(changed).changes == []
    assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 2


def test_a_closed_plan_is_not_changed_and_an_ambiguous_title_is_refused(
    make: Factories,
) -> None:
    author = make.user(role=Role.COORDINATOR)
    importing.apply_import(db.session, checked(workbook()), author)
    plan = db.session.scalars(select(Plan)).one()
    plan.state = PlanState.CLOSED
    db.session.flush()
    renamed = checked(workbook(edit=_set("B4", "Sprachkitas plus")))
    assert [p.message for p in renamed.errors] == [
        "Der Plan „HKI Musterstadt 2026–2030“ ist abgeschlossen und nur noch lesbar; die "
        "Datei würde ihn ändern."]
    make.plan(title=plan.title)
    twice = only_error(checked(workbook()))
    assert twice.sheet == "Konzept" and "heißen 2 Pläne" in twice.message


def test_a_sheet_given_twice_is_refused(make: Factories) -> None:
    def twice(book: Workbook) -> None:
        book.create_sheet("Sachstaende").append(["Maßnahme (Nr.)", "Stand am",
                                                 "Umsetzungsstand"])

    problem = only_error(checked(workbook(edit=twice)))
    assert "„Sachstände“, „Sachstaende“ meinen dasselbe Blatt" in problem.message


def test_names_must_match_hki_and_deactivated_offices_take_no_new_measures(
    make: Factories,
) -> None:
    make.organisation("Jugendamt")
    make.organisation("VHS").is_active = False
    db.session.flush()
    check = checked(workbook(organisations=("jugendamt", "Kita-Verband")))
    assert sorted(((p.sheet, p.row, p.column) for p in check.errors), key=str) == [
        ("Organisationen", 2, "A"), ("Plan", 5, "D")]
    messages = " ".join(p.message for p in check.errors)
    assert "Die Organisation heißt in hki „Jugendamt“" in messages
    assert "„VHS“ ist deaktiviert und übernimmt keine neuen Maßnahmen" in messages


def test_columns_missing_from_the_file_leave_existing_values_alone(make: Factories) -> None:
    author = make.user(role=Role.COORDINATOR)
    importing.apply_import(db.session, checked(workbook()), author)
    db.session.commit()

    def slim(book: Workbook) -> None:
        sheet = book["Plan"]
        for column in ("R", "Q", "P", "N", "M", "K", "J", "H", "F", "E", "C"):
            sheet.delete_cols(ord(column) - 64)  # keep number, title, lead, start, priority
        sheet["B5"] = "Elterncafés in allen Stadtteilen"

    check = checked(workbook(edit=slim, status=[]))
    assert check.errors == []
    assert [(c.kind, c.details) for c in check.changes] == [
        ("geändert", ("Titel: Elterncafés → Elterncafés in allen Stadtteilen",))]
    importing.apply_import(db.session, check, author)
    m2 = db.session.scalars(select(Measure).where(Measure.number == "1.1.2")).one()
    assert (m2.title, m2.end_date, m2.budget_eur) == (
        "Elterncafés in allen Stadtteilen", date(2027, 12, 31), 5000)
    assert sorted(t.name for t in m2.target_groups) == ["Eltern", "Neuzugewanderte"]
    assert [(i.unit, i.target_value) for i in m2.indicators] == [("Personen", 120.0)]


def test_existing_plan_period_is_checked_with_the_new_dates(make: Factories) -> None:
    author = make.user(role=Role.COORDINATOR)
    importing.apply_import(db.session, checked(workbook()), author)
    problem = only_error(checked(workbook(
        concept={"Titel": CONCEPT["Titel"], "Gültig ab": date(2031, 1, 1)})))
    assert problem.message == "„Gültig bis“ liegt vor „Gültig ab“."


def test_german_numbers_and_percent_formats(make: Factories) -> None:
    author = make.user(role=Role.COORDINATOR)

    def german(book: Workbook) -> None:
        book["Plan"]["K5"], book["Plan"]["N5"] = "5.000", "1.250"
        book["Sachstände"]["F2"] = 20
        book["Sachstände"]["F2"].number_format = '0" %"'  # shows "20 %", no scaling
        book["Sachstände"]["F3"] = 0.1
        book["Sachstände"]["F3"].number_format = "0%"  # shows "10%": Excel stores 0.1

    importing.apply_import(db.session, checked(workbook(edit=german)), author)
    m2 = db.session.scalars(select(Measure).where(Measure.number == "1.1.2")).one()
    assert (m2.budget_eur, m2.indicators[0].baseline_value) == (5000, 1250.0)
    assert sorted(u.progress or 0 for u in db.session.scalars(select(StatusUpdate))) == [10, 20]
