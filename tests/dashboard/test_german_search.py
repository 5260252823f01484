"""German search on this backend: stems, umlauts, compounds, ß/ss, names; best hits first."""

from __future__ import annotations

import pytest
from flask import Flask

from hki.dashboard import queries, search
from hki.plan.models import Organisation, TargetGroup
from hki.vocab import Role, Status
from tests.factories import Factories

#: Title → (description, lead, partners, target group, note of an accepted update).
CORPUS: dict[str, tuple[str, str, tuple[str, ...], str, str]] = {
    "Alltagsintegrierte Sprachförderung in Kitas": (
        "Sprachbildung im Kita-Alltag", "Jugendamt", ("Kita-Verband",), "Kinder", ""),
    "Nachmittagsförderung an Grundschulen": (
        "Hausaufgabenhilfe und Lernförderung", "Schulamt", (), "Kinder", ""),
    "Demokratieförderung im Stadtteil": (
        "Workshops gegen Rassismus", "Kulturbüro", ("Integrationsbeirat",), "Jugendliche", ""),
    "Elterncafé für Mütter mit kleinen Kindern": (
        "Treffpunkt in der Bahnhofstraße", "Familienzentrum Süd", (), "Eltern", ""),
    "Gesundheitslotsen": (
        "Mehrsprachige Informationsabende", "Gesundheitsamt", ("Ärzteschaft im Kreis",),
        "Geflüchtete", "Drei Abende mit der Ärztekammer fanden statt."),
    "Eltern-Kind-Gruppen für Neuzugewanderte": (
        "Angebote nach dem Integrationskurs", "VHS", ("Caritas",), "Neuzugewanderte", ""),
    "Fußballturniere der Vereine": (
        "Sport verbindet", "Sportbund", (), "Jugendliche", ""),
}

#: Query → the titles it must find (in any order), on both backends.
EXPECTED: dict[str, set[str]] = {
    "Förderung": {"Alltagsintegrierte Sprachförderung in Kitas",
                  "Nachmittagsförderung an Grundschulen", "Demokratieförderung im Stadtteil"},
    "Foerderung": {"Alltagsintegrierte Sprachförderung in Kitas",
                   "Nachmittagsförderung an Grundschulen", "Demokratieförderung im Stadtteil"},
    "Mutter": {"Elterncafé für Mütter mit kleinen Kindern"},
    "Mütter": {"Elterncafé für Mütter mit kleinen Kindern"},
    "Ärzteschaft": {"Gesundheitslotsen"},  # a partner's name
    "Ärzte": {"Gesundheitslotsen"},  # a part of a partner's name, and of a note
    "Strasse": {"Elterncafé für Mütter mit kleinen Kindern"},
    "Straße": {"Elterncafé für Mütter mit kleinen Kindern"},
    "Fussball": {"Fußballturniere der Vereine"},
    "Kind": {"Eltern-Kind-Gruppen für Neuzugewanderte",
             "Elterncafé für Mütter mit kleinen Kindern",
             "Alltagsintegrierte Sprachförderung in Kitas",
             "Nachmittagsförderung an Grundschulen"},  # title, hyphenated compound, group
    "Integrationskurse": {"Eltern-Kind-Gruppen für Neuzugewanderte"},
    "Geflüchteter": {"Gesundheitslotsen"},  # target group, another form
    "Cafe": {"Elterncafé für Mütter mit kleinen Kindern"},
    "Jugendamt": {"Alltagsintegrierte Sprachförderung in Kitas"},  # the lead office
    "Förderung Kitas": {"Alltagsintegrierte Sprachförderung in Kitas"},  # every word
    "Rassismus Grundschulen": set(),
}


@pytest.fixture
def plan_id(app_ctx: Flask, make: Factories) -> int:
    goal = make.goal()
    organisations: dict[str, Organisation] = {}
    groups: dict[str, TargetGroup] = {}
    for title, (description, lead, partners, group, note) in CORPUS.items():
        def organisation(name: str) -> Organisation:
            return organisations.setdefault(name, make.organisation(name))

        measure = make.measure(goal, title=title, description=description,
                               lead=organisation(lead),
                               partners=[organisation(p) for p in partners],
                               target_groups=[groups.setdefault(group, TargetGroup(name=group))])
        if note:
            make.update(measure, Status.IN_PROGRESS, note=note,
                        author=make.user(role=Role.COORDINATOR))
    make.commit()
    return goal.field.plan_id


@pytest.mark.parametrize(("query", "titles"), EXPECTED.items(), ids=list(EXPECTED))
def test_german_words_find_what_a_person_expects(plan_id: int, query: str,
                                                 titles: set[str]) -> None:
    view = queries.plan_view(plan_id)
    found = {r.entry.measure.title for r in queries.select(view, queries.Filters(q=query))}
    assert found == titles


def test_best_hits_first(plan_id: int) -> None:
    view = queries.plan_view(plan_id)
    parsed = queries.parse({"q": "Kind"}, lambda name: [])
    assert parsed.filters.sort == "relevanz"  # a search term sorts by fit unless told
    titles = [r.entry.measure.title for r in queries.select(view, parsed.filters)]
    # "Kind" in the title before "Kinder" only as the target group.
    assert set(titles[:2]) == {"Eltern-Kind-Gruppen für Neuzugewanderte",
                               "Elterncafé für Mütter mit kleinen Kindern"}
    assert len(titles) == 4
    assert search.terms("Mütter Muetter mutter") == ["mutt", "mutt", "mutt"]
    # Chosen explicitly, the order by number survives the round trip through the URL.
    numbered = queries.Filters(q="Kind", sort="nummer")
    assert queries.parse(numbered.params(), lambda name: []).filters.sort == "nummer"
