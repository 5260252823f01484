"""The workbook format, in one place: sheet names, column headers and what each column holds.

The template, the exports and the import all read these definitions, so a file hki writes
is a file hki reads. Headers are German; the import matches them loosely (:func:`column_key`:
case, spaces, hyphens, umlauts written as ae/oe/ue, gendered endings, units in brackets)
and knows the usual other headings of municipal lists (``aliases``; the list is in
docs/import.md for coordinators).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    #: Explanation on the template's Anleitung sheet.
    hint: str = ""
    #: What the cells hold, for the template's cell formats: "text", "outline" (numbers
    #: like 1.2.3, always text), "date", "money" (whole euros), "number" or "percent".
    kind: str = "text"


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


#: Gendered endings of German headings: "/innen", "*innen", ":innen", "_innen", "(innen)",
#: "/-innen", "Innen" (Binnen-I) and the singular "/in", "*in" …; also plain "…erinnen".
_GENDERED = re.compile(
    r"(?:\s*[/*:_·]\s*-?\s*|\s*\(\s*-?)(?:innen|in|r)\b\)?|(?<=[a-zäöüß])Inn?en\b"
    r"|(?<=er)innen\b")
#: Units and remarks: in brackets ("(€)", "(in EUR)", "(Nr.)", "(%)", "[Anzahl]") or
#: written after the word ("in %", "in €", "in Euro", a bare "€").
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\s+in\s+(?:%|€|EUR|Euro|Prozent)\s*$|€",
                       re.IGNORECASE)


def column_key(text: str) -> str:
    """How column headings are compared: :func:`header_key` without gender or units.

    "Kooperationspartner/innen", "Kooperationspartner*innen" and "KooperationspartnerInnen"
    all become "kooperationspartner"; "Kosten (€)" becomes "kosten".
    """
    plain = _BRACKETS.sub(" ", _GENDERED.sub("", text))
    return header_key(plain) or header_key(text)


def columns_named(headings: Iterable[object], sheet: Sheet) -> set[str]:
    """The keys of ``sheet``'s columns that ``headings`` name (header or synonym)."""
    by_heading = {column_key(h): c.key for c in sheet.columns for h in (c.header, *c.aliases)}
    return {by_heading[k] for h in headings if h is not None and str(h).strip()
            and (k := column_key(str(h))) in by_heading}


#: Separator of several names in one cell (partners, target groups).
LIST_SEPARATOR = ";"
#: Written for a measure without a planned end.
ONGOING_END = "fortlaufend"
#: What people write for an open end; the import reads each as "no planned end".
ONGOING_WORDS = (ONGOING_END, "laufend", "offen", "unbefristet", "dauerhaft", "Daueraufgabe",
                 "ohne Ende", "-", "–", "—")

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
    Column("number", "Nummer", 10, kind="outline",
           aliases=("Nr", "Gliederungsnummer", "Gliederung", "Ziffer", "Kennziffer"),
           hint="1 = Handlungsfeld, 1.2 = Ziel, 1.2.3 = Maßnahme. Pflicht in jeder Zeile "
                "außer Zeilen mit weiteren Indikatoren direkt unter einer Maßnahme."),
    Column("title", "Titel", 50, hint="Pflicht.",
           aliases=("Bezeichnung", "Maßnahme", "Titel der Maßnahme", "Maßnahmentitel",
                    "Name der Maßnahme", "Maßnahmen", "Handlungsfeld / Ziel / Maßnahme")),
    Column("description", "Beschreibung", 50,
           aliases=("Kurzbeschreibung", "Maßnahmenbeschreibung", "Inhalt", "Inhalte",
                    "Erläuterung", "Beschreibung der Maßnahme")),
    Column("lead", "Federführung", 30,
           aliases=("federführend", "Federführende Stelle", "Federführende Organisation",
                    "Verantwortlich", "Verantwortliche", "Verantwortliche Stelle", "Verantwortung",
                    "Zuständig", "Zuständige", "Zuständigkeit", "Zuständige Stelle", "Träger",
                    "Federführung / Verantwortung"),
           hint="Pflicht bei Maßnahmen: genau eine Organisation (siehe Blatt Organisationen)."),
    Column("partners", "Kooperationspartner", 30,
           aliases=("Partner", "Kooperation", "Beteiligte", "Beteiligte Akteure",
                    "Beteiligte Stellen", "Mitwirkende", "Netzwerkpartner",
                    "Kooperationspartner und Beteiligte"),
           hint="Mehrere Namen mit Semikolon (;) trennen oder je einen in eine Zeile der "
                "Zelle schreiben (Alt+Eingabe)."),
    Column("target_groups", "Zielgruppen", 30, aliases=("Zielgruppe", "Adressaten"),
           hint="Wie Kooperationspartner; neue Zielgruppen werden angelegt."),
    Column("start", "Beginn", 12, kind="date",
           aliases=("Start", "von", "Laufzeit von", "Startdatum", "Beginn der Maßnahme",
                    "Zeitraum von"),
           hint="Pflicht bei Maßnahmen: Datum (TT.MM.JJJJ) oder Monat (MM.JJJJ)."),
    Column("end", "Ende", 12, kind="date",
           aliases=("bis", "Laufzeit bis", "Enddatum", "Ende der Maßnahme", "Zeitraum bis"),
           hint="Datum, Monat oder „fortlaufend“ (auch „laufend“, „offen“, „unbefristet“; "
                "leer heißt ebenfalls fortlaufend)."),
    Column("priority", "Priorität", 10, aliases=("Prio", "Dringlichkeit"),
           hint="Pflicht bei Maßnahmen: hoch, mittel oder niedrig."),
    Column("funding_note", "Finanzierung", 30,
           aliases=("Finanzierungsquelle", "Förderung", "Fördermittel", "Finanzierung/Förderung",
                    "Mittelherkunft")),
    Column("budget", "Budget (EUR)", 14, kind="money",
           aliases=("Budget", "Kosten", "Gesamtkosten", "Haushaltsmittel",
                    "Finanzvolumen", "Budget in Euro"),
           hint="Ganze Euro, ohne Nachkommastellen, z. B. 12.500."),
    Column("indicator", "Indikator", 30, aliases=("Indikatoren", "Kennzahl", "Messgröße"),
           hint="Weitere Indikatoren einer Maßnahme in eigenen Zeilen direkt darunter, "
                "mit leerer Nummer und leerem Titel."),
    Column("unit", "Einheit", 12, aliases=("Maßeinheit",)),
    Column("baseline", "Ausgangswert", 12, kind="number", aliases=("Basiswert", "Ist-Wert")),
    Column("baseline_date", "Ausgangsdatum", 12, kind="date"),
    Column("target", "Zielwert", 12, kind="number", aliases=("Soll", "Soll-Wert", "Zielgröße")),
    Column("target_date", "Zieldatum", 12, kind="date"),
    Column("data_source", "Datenquelle", 30, aliases=("Quelle",)),
    Column("current_status", "Umsetzungsstand aktuell", 18, info=True),
    Column("current_progress", "Fortschritt aktuell (%)", 12, info=True, kind="number"),
    Column("current_as_of", "Stand vom", 12, info=True, kind="date"),
))

STATUS = Sheet("Sachstände", (
    Column("measure", "Maßnahme (Nr.)", 12, kind="outline",
           aliases=("Maßnahme", "Nummer", "Nr", "Maßnahmennummer"),
           hint="Pflicht: die Nummer der Maßnahme, z. B. 2.3.1."),
    Column("measure_title", "Titel der Maßnahme", 40, info=True),
    Column("lead", "Federführung", 30, info=True),
    Column("as_of", "Stand am", 12, kind="date", aliases=("Stand vom", "Datum", "Stand"),
           hint="Pflicht: der Tag, den der Sachstand beschreibt (TT.MM.JJJJ)."),
    Column("status", "Umsetzungsstand", 18,
           aliases=("Status", "Stand der Umsetzung", "Status der Umsetzung",
                    "Umsetzungsstatus"),
           hint="Pflicht: ein Wort aus der Liste (Auswahl in der Zelle)."),
    Column("progress", "Fortschritt (%)", 12, kind="number",
           aliases=("Fortschritt", "Umsetzungsgrad", "Fortschritt in Prozent"),
           hint="Ganze Zahl von 0 bis 100; leer bei Daueraufgaben."),
    Column("note", "Erläuterung", 60,
           aliases=("Notiz", "Bemerkung", "Bemerkungen", "Sachstand", "Kommentar",
                    "Erläuterung zum Sachstand"),
           hint="Pflicht bei verzögert, zurückgestellt und entfallen."),
    Column("recorded_at", "Erfasst am", 18, info=True, kind="date"),
    Column("author", "Erfasst von", 24, info=True),
))

#: The sheets the import reads, in the order it reads them.
IMPORT_SHEETS = (CONCEPT, ORGANISATIONS, PLAN, STATUS)
#: The sheet of explanations; written by the template and exports, skipped by the import.
EXPLANATION = "Anleitung"
#: The status template's copy of the plan, for the offices' information only.
INFO_PLAN = "Plan (nur zur Information)"
#: Sheets hki writes for people and the import passes over without a word ("Erläuterung":
#: the explanation sheet's name in files from before December 2026).
SKIPPED_SHEETS = (EXPLANATION, "Erläuterung", INFO_PLAN)
