"""The Sachstandsbericht for (Stichtag S, Kenntnisstand K): data, PDF text and PDF/UA structure."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hki.auth.audit import effective_from
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.reports import jobs
from hki.reports.data import ReportData, gather
from hki.reports.models import Report, ReportState
from hki.reports.render import render_pdf
from hki.vocab import Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories

S = date(2024, 6, 30)
K = datetime(2024, 7, 15, 12, tzinfo=UTC)
BEFORE = datetime(2024, 1, 1, tzinfo=UTC)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def small_plan(make: Factories) -> dict[str, Any]:
    """Two fields; updates before and after S and K, one not accepted, one rename after S."""
    with effective_from(BEFORE):
        plan = make.plan(title="HKI Musterstadt 2020–2025", adoption_paper_ref="V/2020/123")
        sprache = make.goal(make.field(plan, title="Sprache"))
        arbeit = make.goal(make.field(plan, title="Arbeit"))
        vhs, jc = make.organisation("VHS"), make.organisation("Jobcenter")
        kurs = make.measure(sprache, title="Sprachcafé", lead=vhs)
        kita = make.measure(sprache, title="Kita-Sprachförderung", lead=vhs)
        job = make.measure(arbeit, title="Jobcoaching", lead=jc)
        leer = make.measure(arbeit, title="Mentoring", lead=jc)
        make.commit()
    make.update(kurs, Status.PLANNED, as_of=date(2023, 12, 31), progress=10)
    make.update(kurs, Status.IN_PROGRESS, as_of=date(2024, 5, 31), progress=40,
                note="Zwei Gruppen laufen.")
    # After S (valid time) and recorded after K: neither may show.
    make.update(kurs, Status.COMPLETED, as_of=date(2024, 7, 31), progress=100)
    make.update(kita, Status.COMPLETED, as_of=date(2024, 6, 1), progress=100,
                recorded_at=datetime(2024, 8, 1, tzinfo=UTC))
    make.update(kita, Status.DELAYED, as_of=date(2024, 3, 31), progress=30, note="Personal fehlt")
    make.update(job, Status.ONGOING, as_of=date(2024, 6, 30), progress=None)
    # Submitted, never accepted: does not count.
    make.update(leer, Status.IN_PROGRESS, as_of=date(2024, 6, 1), progress=5, accepted=False)
    make.commit()
    with effective_from(datetime(2024, 7, 1, 9, tzinfo=UTC)):
        job.title = "Jobcoaching für Geflüchtete"
        make.commit()
    return {"plan": plan.id, "kurs": kurs.id, "kita": kita.id, "job": job.id, "leer": leer.id}


def test_data_follows_the_stichtag_and_the_kenntnisstand(app_ctx: Flask, make: Factories) -> None:
    ids = small_plan(make)
    r = gather(ids["plan"], S, K, compare_with=date(2023, 12, 31))
    by_id = {e.measure.id: e for e in r.entries}
    kurs, kita, job, leer = (by_id[ids[k]] for k in ("kurs", "kita", "job", "leer"))
    assert kurs.update is not None and (kurs.update.status, kurs.update.progress) == (
        Status.IN_PROGRESS, 40)
    assert kita.update is not None and kita.update.status is Status.DELAYED  # later one after K
    assert job.update is not None and job.update.status is Status.ONGOING
    assert job.measure.title == "Jobcoaching"  # renamed after S
    assert leer.update is None  # never accepted
    sprache, arbeit = r.fields
    assert (sprache.tally.counts[Status.IN_PROGRESS], sprache.tally.counts[Status.DELAYED],
            sprache.tally.without_update) == (1, 1, 0)
    assert (arbeit.tally.counts[Status.ONGOING], arbeit.tally.without_update) == (1, 1)
    assert r.total.total == 4 and r.total.quote == pytest.approx(25.0)
    assert r.total.average_progress == pytest.approx(35.0)
    changes = r.changes
    assert changes is not None
    assert [e.measure.title for e in changes.newly_delayed] == ["Kita-Sprachförderung"]
    assert [e.measure.title for e in changes.changed] == ["Sprachcafé"]
    assert [e.measure.title for e in changes.silent] == ["Mentoring"]
    # Known later, the later updates count: the same S, another K.
    later = gather(ids["plan"], S, datetime(2024, 9, 1, tzinfo=UTC))
    assert {e.measure.title: e.update.status for e in later.entries if e.update} == {
        "Sprachcafé": Status.IN_PROGRESS, "Kita-Sprachförderung": Status.COMPLETED,
        "Jobcoaching": Status.ONGOING}  # renamed after S: still the old title


def test_query_count_does_not_grow_with_the_plan(
    app_ctx: Flask, make: Factories, count_queries: QueryCounter
) -> None:
    def count(plan_id: int) -> int:
        before = count_queries.count
        gather(plan_id, S, K, compare_with=date(2023, 12, 31))
        return count_queries.count - before

    small = small_plan(make)["plan"]
    with effective_from(BEFORE):
        big = make.plan()
        for _ in range(3):
            goal = make.goal(make.field(big))
            for _ in range(8):
                make.update(make.measure(goal), as_of=date(2024, 5, 1))
        make.commit()
    assert count(small) == count(big.id) <= 16


@pytest.fixture
def report(app_ctx: Flask, make: Factories) -> tuple[ReportData, bytes]:
    ids = small_plan(make)
    r = gather(ids["plan"], S, K, compare_with=date(2023, 12, 31))
    return r, render_pdf(r)


def test_pdf_text_matches_the_data(report: tuple[ReportData, bytes]) -> None:
    _, data = report
    text = pdf_text(data)
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert "Sachstandsbericht" in text and "Stand: 30.06.2024" in text
    assert f"Seite 1 von {pages}" in text and f"Seite {pages} von {pages}" in text
    assert "V/2020/123" in text
    # The counts table: one row per field, totals, the Umsetzungsquote.
    assert re.search(r"1 Sprache 0 0 1 1 0 0 0 0 0 2 0,0\s%", text), text
    assert re.search(r"2 Arbeit 0 0 0 0 1 0 0 0 1 2 50,0\s%", text)
    assert re.search(r"Insgesamt 0 0 1 1 1 0 0 0 1 4 25,0\s%", text)
    # Changes since 31.12.2023.
    assert "Änderungen seit dem 31.12.2023" in text
    assert re.search(r"Neu verzögert \(1\)\s+1\.1\.2\s+Kita-Sprachförderung – verzögert, 30\s%\. "
                     r"Grund: Personal fehlt", text)
    # A measure entry, with its old title and no update from after S or K.
    assert re.search(r"1\.1\.1\s+Sprachcafé", text) and "Zwei Gruppen laufen." in text
    assert re.search(r"in Umsetzung, 40\s% \(Stand vom 31\.05\.2024\)", text)
    assert "Jobcoaching für Geflüchtete" not in text and re.search(r"2\.1\.1\s+Jobcoaching", text)
    assert "31.07.2024" not in text


def test_pdf_is_tagged_pdf_ua_with_language_title_and_outline(
    report: tuple[ReportData, bytes],
) -> None:
    _, data = report
    reader = PdfReader(io.BytesIO(data))
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "de"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert re.findall(r"pdfuaid:part[^0-9]*(\d)", xmp.stream.get_data().decode()) == ["1"]
    assert (xmp.dc_title or {})["x-default"].startswith("Sachstandsbericht HKI Musterstadt")
    tags: set[str] = set()

    def walk(node: Any) -> None:
        node = node.get_object()
        if hasattr(node, "get") and node.get("/S") is not None:
            tags.add(str(node["/S"]))
        kids = node.get("/K") if hasattr(node, "get") else None
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            if hasattr(kid, "get_object"):
                walk(kid)

    walk(root["/StructTreeRoot"])
    assert {"/H1", "/H2", "/Table", "/TH", "/TD"} <= tags
    titles: list[str] = []

    def flatten(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                flatten(item)
            else:
                titles.append(item.title)

    flatten(reader.outline)
    assert "Zusammenfassung" in titles and "Handlungsfeld 1: Sprache" in titles


def test_cli_writes_the_same_report(
    app: Flask, make: Factories, report: tuple[ReportData, bytes], tmp_path: Path
) -> None:
    r, data = report
    target = tmp_path / "bericht.pdf"
    runner: FlaskCliRunner = app.test_cli_runner()
    result = runner.invoke(args=[
        "hki", "report", "--plan", str(r.plan.id), "--stichtag", "2024-06-30",
        "--known-at", "2024-07-15T14:00:00", "--compare-with", "2023-12-31",
        "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "Bericht geschrieben" in result.output
    assert pdf_text(target.read_bytes()) == pdf_text(data)
    refused = runner.invoke(args=["hki", "report", "--plan", "999999", "--stichtag",
                                  "2024-06-30", "--output", str(target)])
    assert refused.exit_code == 1 and "gab es zum Stichtag nicht" in refused.output


def test_preview_page(client: FlaskClient, auth: Auth, make: Factories, app: Flask) -> None:
    with app.app_context():
        plan_id = small_plan(make)["plan"]
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/plaene/{plan_id}/bericht?stichtag=2024-06-30&vergleich=2023-12-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="de">' in html
    assert "Entwurf (Vorschau)." in html and "Änderungen seit dem 31.12.2023" in html
    assert "/static/css/report.css" in html
    assert client.get(f"/plaene/{plan_id}/bericht?stichtag=morgen").status_code == 400


def test_issue_render_in_background_and_download_byte_identical(
    client: FlaskClient, auth: Auth, make: Factories, app: Flask
) -> None:
    with app.app_context():
        plan_id = small_plan(make)["plan"]
    auth.login_as(Role.COORDINATOR)
    queued = client.post(f"/plaene/{plan_id}/berichte",
                         data={"stichtag": "2024-06-30", "vergleich": "2023-12-31"})
    assert queued.status_code == 302
    waiting = client.get(queued.location).get_data(as_text=True)
    assert "wartet auf die Erstellung" in waiting and 'http-equiv="refresh"' in waiting

    with app.app_context():
        done = jobs.run_once(db.session)
        assert done is not None and done.state is ReportState.DONE
        report_id, stored, sha = done.id, done.pdf, done.sha256
        assert stored is not None and sha == hashlib.sha256(stored).hexdigest()
        assert jobs.run_once(db.session) is None  # nothing else queued
    page = client.get(f"/berichte/{report_id}").get_data(as_text=True)
    assert sha in page and "PDF herunterladen" in page
    first = client.get(f"/berichte/{report_id}.pdf")
    second = client.get(f"/berichte/{report_id}.pdf")
    assert first.data == second.data == stored
    assert "Stand: 30.06.2024" in pdf_text(first.data)

    # A reader sees and downloads the finished report.
    auth.login_as(Role.READER)
    listing = client.get(f"/plaene/{plan_id}/berichte").get_data(as_text=True)
    assert f"/berichte/{report_id}.pdf" in listing
    assert client.get(f"/berichte/{report_id}.pdf").data == stored

    # The same Stichtag again asks first, then keeps both.
    auth.login_as(Role.COORDINATOR)
    again = client.post(f"/plaene/{plan_id}/berichte", data={"stichtag": "2024-06-30"})
    assert again.status_code == 200
    assert "gibt es schon 1 Bericht" in again.get_data(as_text=True)
    confirmed = client.post(f"/plaene/{plan_id}/berichte",
                            data={"stichtag": "2024-06-30", "bestaetigt": "ja"})
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 2


def test_issued_report_cannot_be_changed(app_ctx: Flask, make: Factories) -> None:
    report = make.report(make.plan())
    make.commit()
    for statement in ("UPDATE reports SET sha256 = 'x'", "DELETE FROM reports"):
        with pytest.raises(DBAPIError, match="unveränderlich"), db.session.begin_nested():
            db.session.execute(text(statement))
    db.session.refresh(report)
    assert report.sha256 == hashlib.sha256(b"%PDF-1.7 stand-in").hexdigest()


def test_failed_rendering_stores_nothing_and_says_so(app_ctx: Flask, make: Factories) -> None:
    plan = make.plan()
    user = make.user(role=Role.COORDINATOR)
    make.commit()
    # A Stichtag long before the plan existed in the records: nothing to render.
    report = jobs.request_report(db.session, plan, user, date(1999, 1, 1), None)
    report.known_at = datetime(1999, 1, 2, tzinfo=UTC)
    db.session.commit()
    failed = jobs.run_once(db.session)
    assert failed is not None and failed.state is ReportState.FAILED
    assert failed.pdf is None and failed.sha256 is None
    assert "konnte nicht erstellt werden" in failed.error


def test_changes_compare_with_what_the_previous_report_knew(
    app_ctx: Flask, make: Factories
) -> None:
    ids = small_plan(make)
    base = date(2023, 12, 31)
    plan = db.session.get_one(Plan, ids["plan"])
    make.report(plan, stichtag=base, known_at=datetime(2024, 1, 10, 9, tzinfo=UTC),
                finished_at=datetime(2024, 1, 10, 9, 5, tzinfo=UTC))
    kurs = db.session.get_one(Measure, ids["kurs"])
    # Recorded after that report, for a day up to its Stichtag: the report did not show it.
    make.update(kurs, Status.DELAYED, as_of=base, progress=10, note="Raum fehlte",
                recorded_at=datetime(2024, 2, 1, tzinfo=UTC))
    make.commit()

    r = gather(ids["plan"], S, K, compare_with=base)
    assert r.changes is not None and r.changes.base_is_report
    assert r.changes.base_known_at == datetime(2024, 1, 10, 9, tzinfo=UTC)
    kurs_base = {e.measure.id: e.before for e in r.entries}[ids["kurs"]]
    assert kurs_base is not None and kurs_base.status is Status.PLANNED
    text = pdf_text(render_pdf(r))
    assert "Sachstandsbericht Stand 31.12.2023, Kenntnisstand 10.01.2024" in text

    # A Kenntnisstand before that report was finished cannot know it: base as known at K.
    early = gather(ids["plan"], S, datetime(2024, 1, 10, 9, 1, tzinfo=UTC), compare_with=base)
    assert early.changes is not None and not early.changes.base_is_report
    # A date no report was issued for: as known at K, so the late update counts.
    other = gather(ids["plan"], S, K, compare_with=date(2024, 1, 1))
    assert other.changes is not None and not other.changes.base_is_report
    kurs_before = {e.measure.id: e.before for e in other.entries}[ids["kurs"]]
    assert kurs_before is not None and kurs_before.status is Status.DELAYED


def test_cached_page_references_equal_pydyfs_own() -> None:
    import pydyf

    from hki.reports.render import speed_up_pydyf

    speed_up_pydyf()
    speed_up_pydyf()  # idempotent
    original = pydyf.PDF.__dict__["_hki_original_references"]
    assert isinstance(original, property) and original is not pydyf.PDF.__dict__[
        "page_references"]
    pdf = pydyf.PDF()
    for count in range(1, 5):
        page = pydyf.Dictionary({"Type": "/Page"})
        pdf.add_page(page)
        assert len(pdf.page_references) == count  # grows with the pages, never stale
        assert original.fget is not None and pdf.page_references == original.fget(pdf)
