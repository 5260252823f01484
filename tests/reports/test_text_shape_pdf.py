"""In the PDF, typed notes and descriptions keep their lines and lists, and stay PDF/UA-1."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from hki.auth.audit import effective_from
from hki.reports.data import gather
from hki.reports.render import render_html, render_pdf
from hki.vocab import Status
from tests.factories import Factories
from tests.plan.test_text_shape import blocks_in_paragraphs
from tests.reports.test_report import BEFORE, K, S, pdf_text
from tests.reports.verapdf import validate

NOTE = "Zwei Gruppen laufen.\r\nSeit März:\r\n• Lesekreis\r\n• Schreibwerkstatt\r\n• Elterncafé"
FIELD = "Sprache öffnet Türen.\n\nSchwerpunkte:\n1. Kita\n2. Schule"


@pytest.fixture
def shaped(app_ctx: Flask, make: Factories) -> tuple[str, bytes]:
    """A report whose field description, Sachstand and Grund have lines and lists."""
    with effective_from(BEFORE):
        plan = make.plan(title="HKI Formtest")
        goal = make.goal(make.field(plan, title="Sprache", description=FIELD))
        kurs = make.measure(goal, title="Sprachcafé")
        kita = make.measure(goal, title="Kita-Sprachförderung")
        make.commit()
    make.update(kurs, Status.IN_PROGRESS, as_of=date(2024, 5, 31), progress=40, note=NOTE)
    make.update(kita, Status.DELAYED, as_of=date(2024, 3, 31), progress=30,
                note="Personal fehlt\n- Raum fehlt")
    make.commit()
    r = gather(plan.id, S, K, compare_with=date(2023, 12, 31))
    return render_html(r), render_pdf(r)


def test_pdf_shows_list_items_on_their_own_lines(shaped: tuple[str, bytes]) -> None:
    html, data = shaped
    assert blocks_in_paragraphs(html) == []
    text = pdf_text(data)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    # The label stays inline with the first paragraph; each further line and item apart.
    assert "Sachstand: Zwei Gruppen laufen." in lines, text
    assert "Seit März:" in lines
    # Each item on a line of its own (WeasyPrint draws the "•" markers after the page's text).
    for item in ("Lesekreis", "Schreibwerkstatt", "Elterncafé"):
        assert item in lines, text
    assert not any("Lesekreis" in line and "Schreibwerkstatt" in line for line in lines)
    # The field description: paragraphs and a numbered list.
    assert "Sprache öffnet Türen." in lines and "Schwerpunkte:" in lines
    assert "Kita" in lines and "Schule" in lines
    # The reason in the changes chapter stays one line, its parts joined with " / ".
    assert re.search(r"Grund: Personal fehlt / Raum fehlt", " ".join(text.split())), text


def test_pdf_with_lists_passes_pdf_ua_1(shaped: tuple[str, bytes], tmp_path: Path) -> None:
    _, data = shaped
    pdf = tmp_path / "formtest.pdf"
    pdf.write_bytes(data)
    verdict = validate(pdf)
    assert verdict.failed == [] and verdict.compliant, verdict.failed
