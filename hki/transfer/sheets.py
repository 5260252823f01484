"""The workbook format, in one place: sheet names, column headers and what each column holds.

The template, the exports and the import all read these definitions, so a file hki writes
is a file hki reads. Headers are German; the import matches them loosely (case, spaces,
umlauts written as ae/oe/ue, and a few alternative spellings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hki.dashboard.search import fold


@dataclass(frozen=True)
class Column:
    """One column of a sheet."""

    key: str
    header: str
    #: Characters wide in the written workbook.
    width: int = 16
    #: Written by exports for the reader's benefit; known to the import, never imported.
    info: bool = False
    #: Other headers the import accepts for this column.
    aliases: tuple[str, ...] = ()
    #: Explanation on the template's Erläuterung sheet.
    hint: str = ""


@dataclass(frozen=True)
class Sheet:
    """A sheet with a header row and one record per row."""

    name: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        """The column with ``key``."""
        return next(c for c in self.columns if c.key == key)


def header_key(text: str) -> str:
    """How headers are compared: folded, without spaces, stars, colons or brackets."""
    return re.sub(r"[\s*:()\[\]%.\-–/]+", "", fold(text))


#: Separator of several names in one cell (partners, target groups).
LIST_SEPARATOR = ";"
#: Written for a measure without a planned end.
ONGOING_END = "fortlaufend"

CONCEPT = Sheet("Konzept", (
    Column("label", "Angabe", 24),
    Column("value", "Wert", 60),
))
#: Rows of the Konzept sheet: key, label, required for a new plan.
CONCEPT_ROWS: tuple[tuple[str, str, bool], ...] = (
    ("title", "Titel", True),
    ("city", "Kommune", True),
    ("owner_unit", "Herausgeber", False),
    ("description", "Beschreibung", False),
    ("valid_from", "Gültig ab", True),
    ("valid_to", "Gültig bis", True),
    ("state", "Stand", False),
    ("adopted_on", "Beschlossen am", False),
    ("adoption_paper_ref", "Vorlage", False),
)

ORGANISATIONS = Sheet("Organisationen", (
    Column("name", "Name", 50, aliases=("Organisation",),
           hint="Eine Organisation je Zeile. Nur Namen, die hki noch nicht kennt, werden "
                "angelegt; die übrigen müssen genau so geschrieben sein wie in hki."),
))

PLAN = Sheet("Plan", (
    Column("number", "Nummer", 10, aliases=("Nr", "Gliederungsnummer"),
           hint="1 = Handlungsfeld, 1.2 = Ziel, 1.2.3 = Maßnahme. Pflicht in jeder Zeile "
                "außer Zeilen mit weiteren Indikatoren direkt unter einer Maßnahme."),
    Column("title", "Titel", 50, aliases=("Bezeichnung",), hint="Pflicht."),
    Column("description", "Beschreibung", 50),
    Column("lead", "Federführung", 30, aliases=("federführend", "Federführende Stelle"),
           hint="Pflicht bei Maßnahmen: genau eine Organisation (siehe Blatt Organisationen)."),
    Column("partners", "Kooperationspartner", 30, aliases=("Partner",),
           hint="Mehrere Namen mit Semikolon (;) trennen oder je einen in eine Zeile der "
                "Zelle schreiben (Alt+Eingabe)."),
    Column("target_groups", "Zielgruppen", 30, aliases=("Zielgruppe",),
           hint="Wie Kooperationspartner; neue Zielgruppen werden angelegt."),
    Column("start", "Beginn", 12, aliases=("Start", "von"),
           hint="Pflicht bei Maßnahmen: Datum (TT.MM.JJJJ) oder Monat (MM.JJJJ)."),
    Column("end", "Ende", 12, aliases=("bis",),
           hint="Datum, Monat oder „fortlaufend“ (leer heißt ebenfalls fortlaufend)."),
    Column("priority", "Priorität", 10, hint="Pflicht bei Maßnahmen: hoch, mittel oder niedrig."),
    Column("funding_note", "Finanzierung", 30),
    Column("budget", "Budget (EUR)", 12, aliases=("Budget",),
           hint="Ganze Euro, ohne Nachkommastellen."),
    Column("indicator", "Indikator", 30,
           hint="Weitere Indikatoren einer Maßnahme in eigenen Zeilen direkt darunter, "
                "mit leerer Nummer und leerem Titel."),
    Column("unit", "Einheit", 12),
    Column("baseline", "Ausgangswert", 12),
    Column("baseline_date", "Ausgangsdatum", 12),
    Column("target", "Zielwert", 12),
    Column("target_date", "Zieldatum", 12),
    Column("data_source", "Datenquelle", 30),
    Column("current_status", "Umsetzungsstand aktuell", 18, info=True),
    Column("current_progress", "Fortschritt aktuell (%)", 12, info=True),
    Column("current_as_of", "Stand vom", 12, info=True),
))

STATUS = Sheet("Sachstände", (
    Column("measure", "Maßnahme (Nr.)", 12, aliases=("Maßnahme", "Nummer", "Nr"),
           hint="Pflicht: die Nummer der Maßnahme, z. B. 2.3.1."),
    Column("measure_title", "Titel der Maßnahme", 40, info=True),
    Column("lead", "Federführung", 30, info=True),
    Column("as_of", "Stand am", 12, aliases=("Stand vom", "Datum"),
           hint="Pflicht: der Tag, den der Sachstand beschreibt (TT.MM.JJJJ)."),
    Column("status", "Umsetzungsstand", 18, aliases=("Status",),
           hint="Pflicht: ein Wort aus der Liste (Auswahl in der Zelle)."),
    Column("progress", "Fortschritt (%)", 12, aliases=("Fortschritt",),
           hint="Ganze Zahl von 0 bis 100; leer bei Daueraufgaben."),
    Column("note", "Erläuterung", 60, aliases=("Notiz", "Bemerkung"),
           hint="Pflicht bei verzögert, zurückgestellt und entfallen."),
    Column("recorded_at", "Erfasst am", 18, info=True),
    Column("author", "Erfasst von", 24, info=True),
))

#: The sheets the import reads, in the order it reads them.
IMPORT_SHEETS = (CONCEPT, ORGANISATIONS, PLAN, STATUS)
#: The sheet of explanations; written by the template and exports, skipped by the import.
EXPLANATION = "Erläuterung"
