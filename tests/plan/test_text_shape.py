"""Typed texts keep their shape: paragraphs, line breaks and lists, always escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import ClassVar

import pytest
from flask.testing import FlaskClient
from markupsafe import Markup

from hki.text import absaetze, einzeilig, vorlage
from hki.updates.models import UpdateReview
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth
from tests.factories import Factories

WORD_PASTE = (
    "Offener Treff zum Deutschüben.\r\nDienstags in der Bibliothek.\r\n\r\n"
    "Angebote:\r\n•\tLesekreis\r\n•\tSchreibwerkstatt\r\n•\tHausaufgabenhilfe"
)


@pytest.mark.parametrize(("text", "html"), [
    ("", ""),
    (None, ""),
    ("  \n \n", ""),
    ("Ein Satz.", "<p>Ein Satz.</p>"),
    ("Zeile eins\nZeile zwei", "<p>Zeile eins<br>\nZeile zwei</p>"),
    ("Absatz eins\n\n\nAbsatz zwei", "<p>Absatz eins</p>\n<p>Absatz zwei</p>"),
    ("a\r\nb\rc\x0bd", "<p>a<br>\nb<br>\nc<br>\nd</p>"),
    ("• A\n- B\n– C\n* D\n· E\n▪ F", "<ul><li>A</li>\n<li>B</li>\n<li>C</li>\n<li>D</li>\n"
                                   "<li>E</li>\n<li>F</li></ul>"),
    ("Wir bieten:\n• A\n• B\nDanach: C", "<p>Wir bieten:</p>\n<ul><li>A</li>\n<li>B</li></ul>\n"
                                         "<p>Danach: C</p>"),
    ("• A\n\n• B", "<ul><li>A</li>\n<li>B</li></ul>"),  # Word's paragraph spacing
    ("• A\n  weiter\n• B", "<ul><li>A<br>\nweiter</li>\n<li>B</li></ul>"),
    ("1. Anmeldung\n2) Kurs", "<ol><li>Anmeldung</li>\n<li>Kurs</li></ol>"),
    ("3. drei\n4. vier", '<ol start="3"><li>drei</li>\n<li>vier</li></ol>'),
    ("1. eins\n3. drei", '<ol><li value="1">eins</li>\n<li value="3">drei</li></ol>'),
    ("30. Juni: Start", "<p>30. Juni: Start</p>"),  # one numbered line is no list
    ("-5 Grad\n1.1.2024 Beginn", "<p>-5 Grad<br>\n1.1.2024 Beginn</p>"),
])
def test_absaetze_shapes_text(text: str | None, html: str) -> None:
    result = absaetze(text)
    assert isinstance(result, Markup) and str(result) == html


def test_absaetze_escapes_everything_the_user_typed() -> None:
    result = absaetze('<script>alert("x")</script> & \'Co\'\n• <b>fett</b>')
    assert "<script" not in result and "<b>" not in result
    assert str(result) == (
        "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;Co&#39;</p>\n"
        "<ul><li>&lt;b&gt;fett&lt;/b&gt;</li></ul>"
    )


def test_absaetze_lead_opens_the_first_paragraph() -> None:
    label = Markup('<span class="k">Sachstand:</span>')
    assert absaetze("Läuft.\n• A", lead=label) == (
        '<p><span class="k">Sachstand:</span> Läuft.</p>\n<ul><li>A</li></ul>')
    assert absaetze("• A", lead=label) == (
        '<p><span class="k">Sachstand:</span></p>\n<ul><li>A</li></ul>')
    assert absaetze("x", lead="<i>") == "<p>&lt;i&gt; x</p>"  # a plain lead is escaped


def test_einzeilig_joins_lines_and_drops_bullets() -> None:
    assert einzeilig("Personal fehlt\r\n\r\nRaum fehlt") == "Personal fehlt / Raum fehlt"
    assert einzeilig("Gründe:\n• Personal\n• Raum\x0b<b>") == "Gründe: Personal / Raum / <b>"
    assert einzeilig("1. eins\n2. zwei") == "1. eins / 2. zwei"
    assert einzeilig(None) == "" and einzeilig(" \n ") == ""


class BlockInParagraph(HTMLParser):
    """Collects block elements opened inside a ``<p>``: browsers tear such a ``<p>`` apart."""

    BLOCKS: ClassVar[set[str]] = {
        "p", "div", "ul", "ol", "li", "table", "section", "dl", "h2", "h3", "h4"}

    def __init__(self) -> None:
        super().__init__()
        self.open_p = 0
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS and self.open_p:
            self.errors.append(f"<{tag}> in <p> at line {self.getpos()[0]}")
        if tag == "p":
            self.open_p += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.open_p:
            self.open_p -= 1


def blocks_in_paragraphs(html: str) -> list[str]:
    parser = BlockInParagraph()
    parser.feed(html)
    return parser.errors


def test_measure_page_shows_description_notes_and_comments_in_shape(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.COORDINATOR)
    m = make.measure(title="Sprachcafé", description=WORD_PASTE)
    make.update(m, Status.IN_PROGRESS, as_of=date(2024, 3, 31),
                note="Stand:\n- zwei Gruppen\n- <i>eine</i> neue")
    returned = make.update(m, Status.COMPLETED, as_of=date(2024, 6, 30), accepted=False,
                           note="fertig")
    reviewer = make.user(role=Role.COORDINATOR)
    returned.review = UpdateReview(
        decision=Decision.RETURNED, reviewer=reviewer, comment="Bitte ergänzen:\n1. Zahl\n2. Ort",
        decided_at=datetime(2024, 7, 1, tzinfo=UTC))
    make.commit()

    html = client.get(f"/massnahmen/{m.id}").get_data(as_text=True)
    description = re.search(r'<div class="text">(.*?)</div>', html, re.S)
    assert description is not None
    assert description.group(1) == (
        "<p>Offener Treff zum Deutschüben.<br>\nDienstags in der Bibliothek.</p>\n"
        "<p>Angebote:</p>\n"
        "<ul><li>Lesekreis</li>\n<li>Schreibwerkstatt</li>\n<li>Hausaufgabenhilfe</li></ul>"
    )
    assert "<ul><li>zwei Gruppen</li>\n<li>&lt;i&gt;eine&lt;/i&gt; neue</li></ul>" in html
    assert ("<p>Hinweis der Koordination: Bitte ergänzen:</p>\n"
            "<ol><li>Zahl</li>\n<li>Ort</li></ol>") in html
    assert "<i>eine</i>" not in html
    assert blocks_in_paragraphs(html) == []


def test_overview_and_review_pages_keep_the_shape(
    make: Factories, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.READER)
    plan = make.plan(description="Der Plan.\n\nZiele:\n• Teilhabe\n• Sprache")
    field = make.field(plan, description="Feld\nzweite Zeile")
    m = make.measure(make.goal(field))
    make.update(m, accepted=False, note="Neu:\n* Kurs A\n* Kurs B")
    make.commit()

    overview = client.get(f"/plaene/{plan.id}").get_data(as_text=True)
    assert ('<div class="note text"><p>Der Plan.</p>\n<p>Ziele:</p>\n'
            "<ul><li>Teilhabe</li>\n<li>Sprache</li></ul></div>") in overview
    assert '<div class="text"><p>Feld<br>\nzweite Zeile</p></div>' in overview
    auth.login_as(Role.COORDINATOR)
    review = client.get("/freigabe").get_data(as_text=True)
    assert "<ul><li>Kurs A</li>\n<li>Kurs B</li></ul>" in review
    assert blocks_in_paragraphs(overview) == [] and blocks_in_paragraphs(review) == []


@pytest.mark.parametrize(("reference", "shown"), [
    ("2020/117", "Vorlage 2020/117"), ("Vorlage Nr. 17/2020", "Vorlage Nr. 17/2020"),
    ("Beschlussvorlage BV/0815", "Beschlussvorlage BV/0815"),
    ("Drucksache 20/117", "Drucksache 20/117"), ("", ""),
    ("Sitzungsvorlage 2020/117", "Sitzungsvorlage 2020/117"), ("Drs 17/123", "Drs 17/123"),
])
def test_vorlage_names_the_council_paper_once(reference: str, shown: str) -> None:
    assert vorlage(reference) == shown
