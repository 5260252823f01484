"""The coordination's own words: written for a Stichtag, previewed, issued with the report."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.plan.models import Field
from hki.reports import jobs
from hki.reports.models import Report, ReportText
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.reports.test_report import pdf_text, small_plan
from tests.reports.verapdf import validate

INTRO = ("Dieser Bericht fasst das zweite Halbjahr 2024 zusammen.\n\n"
         "Grundlage:\n• Abfrage Juni\n• Gespräche")
ASSESSMENT = "Die Sprachförderung kommt voran; die Kita-Sprachförderung ist verzögert."
OUTLOOK = "Bis Ende 2024 soll das Mentoring beginnen. <script>alert(1)</script>"
FIELD = "Personalengpässe bei den Trägern bremsen die Umsetzung."


def _texts(client: FlaskClient, plan_id: int, field_id: int, version: str = "",
           **changes: str) -> str:
    data = {"stichtag": "2024-06-30", "version": version, "intro": INTRO,
            "assessment": ASSESSMENT, "outlook": OUTLOOK, f"feld_{field_id}": FIELD, **changes}
    response = client.post(f"/plaene/{plan_id}/bericht/texte", data=data)
    return response.location if response.status_code == 302 else response.get_data(as_text=True)


def _flat(text: str) -> str:
    return re.sub(r"[\s\-‐­]+", " ", text)


def test_texts_appear_in_preview_and_issued_pdf_and_stay_with_the_issued_report(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories, tmp_path: Path,
) -> None:
    with app.app_context():
        plan_id = small_plan(make)["plan"]
        field_id = db.session.scalars(select(Field.id).where(
            Field.plan_id == plan_id, Field.title == "Sprache")).one()
    auth.login_as(Role.COORDINATOR)
    form = client.get(f"/plaene/{plan_id}/bericht/texte?stichtag=30.06.2024")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Handlungsfeld 1: Sprache" in html
    saved = _texts(client, plan_id, field_id)
    assert "/bericht/texte?stichtag=2024-06-30" in saved
    page = client.get(saved).get_data(as_text=True)
    assert "Die Texte für den Bericht zum 30.06.2024 sind gespeichert." in page

    preview = client.get(f"/plaene/{plan_id}/bericht?stichtag=2024-06-30&vergleich=2023-12-31")
    html = preview.get_data(as_text=True)
    # In their places: Vorbemerkung before the summary, Einschätzung after the changes,
    # the field's comment in its chapter, the Ausblick before the annex; never as HTML.
    order = [html.index(marker) for marker in (
        'id="vorbemerkung"', 'id="zusammenfassung"', 'id="aenderungen"', 'id="einschaetzung"',
        f'id="feld-{field_id}"', "Personalengpässe", 'id="ausblick"', 'id="anhang"')]
    assert order == sorted(order)
    assert "<li>Abfrage Juni</li>" in html and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    client.post(f"/plaene/{plan_id}/berichte", data={"stichtag": "2024-06-30"})
    with app.app_context():
        report = jobs.run_once(db.session)
        assert report is not None and report.pdf is not None
        text = _flat(pdf_text(report.pdf))
        report_id = report.id
        pdf = tmp_path / "bericht-mit-texten.pdf"
        pdf.write_bytes(report.pdf)
    verdict = validate(pdf)  # the new chapters keep the report PDF/UA-1
    assert verdict.failed == [] and verdict.compliant, verdict.failed
    for words in ("Vorbemerkung", "Dieser Bericht fasst das zweite Halbjahr 2024 zusammen.",
                  "Einschätzung der Koordinierungsstelle", ASSESSMENT,
                  "Anmerkung der Koordinierungsstelle", FIELD, "Ausblick",
                  "Bis Ende 2024 soll das Mentoring beginnen."):
        assert _flat(words) in text, words

    # Changing the texts afterwards changes the draft, not the issued report.
    with app.app_context():
        version = db.session.scalars(select(ReportText.version)).one()
    _texts(client, plan_id, field_id, version=str(version), assessment="Neu bewertet.")
    with app.app_context():
        issued = db.session.get_one(Report, report_id)
        assert issued.narrative is not None and issued.narrative["assessment"] == ASSESSMENT
    redrafted = client.get(f"/plaene/{plan_id}/bericht?stichtag=2024-06-30")
    assert "Neu bewertet." in redrafted.get_data(as_text=True)


def test_a_save_over_someone_elses_keeps_the_input_and_says_so(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    with app.app_context():
        plan_id = small_plan(make)["plan"]
        field_id = db.session.scalars(select(Field.id).where(Field.plan_id == plan_id)).first()
        assert field_id is not None
    auth.login_as(Role.COORDINATOR)
    _texts(client, plan_id, field_id)  # someone saves first
    page = _texts(client, plan_id, field_id, version="", assessment="Meine Fassung")
    assert "Jemand anderes hat die Texte inzwischen gespeichert." in page
    assert "Meine Fassung" in page
    with app.app_context():
        assert db.session.scalars(select(ReportText.assessment)).one() == ASSESSMENT
