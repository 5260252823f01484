"""The council annex of a Fortschreibung (xlsx read back with openpyxl, PDF read with
poppler and checked by veraPDF) and the committee stages it shows."""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from pathlib import Path

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.plan.models import Plan
from hki.revision import services
from hki.revision.models import CouncilStage
from hki.vocab import Outcome, Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.reports.test_report import pdf_text
from tests.reports.verapdf import validate
from tests.revision.test_revision import continue_plan, demo


def test_stages_and_the_annex_as_xlsx_and_pdf(
    client: FlaskClient, auth: Auth, make: Factories, tmp_path: Path,
) -> None:
    plan, user = demo(make)
    new, rows = continue_plan(plan, user)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    url = f"/plaene/{plan.id}/fortschreibung/beratung"
    bad = client.post(url, data={"body": "", "purpose": "Vorberatung", "meeting_on": "31.02.2026"},
                      follow_redirects=True)
    assert "Bitte nennen Sie das Gremium" in bad.get_data(as_text=True)
    for body, purpose, day, paper in (
            ("Jugendhilfeausschuss", "Vorberatung", "03.02.2026", "V-2026/011"),
            ("Integrationsbeirat", "Anhörung", "28.01.2026", ""),
            ("Verwaltungsausschuss", "Beschlussempfehlung", "17.02.2026", "V-2026/011")):
        client.post(url, data={"body": body, "purpose": purpose, "meeting_on": day,
                               "paper_ref": paper, "result": "einstimmig empfohlen"})
    stages = services.stages_of(db.session, new)
    assert [(s.body, s.meeting_on) for s in stages] == [
        ("Integrationsbeirat", date(2026, 1, 28)), ("Jugendhilfeausschuss", date(2026, 2, 3)),
        ("Verwaltungsausschuss", date(2026, 2, 17))]
    hub = client.get(f"/plaene/{plan.id}/fortschreibung").get_data(as_text=True)
    assert "V-2026/011" in hub and "03.02.2026" in hub

    workbook = client.get(f"/plaene/{plan.id}/fortschreibung/anlage.xlsx")
    assert workbook.status_code == 200
    assert "filename=\"hki-2026-2030-anlage-fortschreibung-" in \
        workbook.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert cells[0][:3] == ["Nr. bisher", "Maßnahme", "Federführung"]
    assert len(cells) == 1 + len(rows)
    dropped = next(r for r in rows if r.decision.outcome is Outcome.DROPPED
                   and r.decision.reason == "Förderung ausgelaufen")
    line = next(c for c in cells if c[0] == dropped.measure.number)
    assert line[4:7] == ["entfallen lassen", "Förderung ausgelaufen", None]
    carried = next(r for r in rows if r.copy is not None and r.copy.end_date is not None)
    line = next(c for c in cells if c[0] == carried.measure.number)
    assert carried.copy is not None
    end = line[8]
    assert isinstance(end, datetime)
    assert line[6] == carried.copy.number and end.date() == carried.copy.end_date
    assert isinstance(sheet["A2"].value, str)  # "1.1.1" stays text, never a date

    pdf = client.get(f"/plaene/{plan.id}/fortschreibung/anlage.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(pdf_text(pdf.data).split())
    assert "Anlage zur Vorlage: Fortschreibung des Handlungskonzepts" in text
    assert "Beratungsfolge" in text and "Jugendhilfeausschuss Vorberatung V-2026/011" in text
    (Path(os.environ.get("HKI_SCREENSHOT_DIR", tmp_path)) / "anlage.pdf").write_bytes(pdf.data)
    assert f"{dropped.measure.number} " in text and "Förderung ausgelaufen" in text
    annex = tmp_path / "anlage.pdf"
    annex.write_bytes(pdf.data)
    verdict = validate(annex)
    assert verdict.failed == [] and verdict.compliant, verdict.failed

    # A wrongly entered meeting can be removed; a stage of another plan cannot.
    stage_id = stages[0].id
    client.post(f"/plaene/{plan.id}/fortschreibung/beratung/{stage_id}/entfernen")
    db.session.expire_all()
    assert db.session.get(CouncilStage, stage_id) is None
    assert client.get(f"/plaene/{plan.id}/fortschreibung/anlage.doc").status_code == 404
    assert db.session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).one()
