"""Phone (390 px) and desktop: no sideways scrolling, chart text 12 px or more, no WCAG
violations; the partner picker cannot lose choices by a plain click."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Indicator, Measure, Organisation
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe

pytestmark = pytest.mark.browser

SIDEWAYS = "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
SMALLEST_CHART_TEXT = (
    "return Math.min(99, ...Array.from(document.querySelectorAll('svg text'))"
    ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))")


def test_pages_fit_a_phone_and_keep_chart_text_readable(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path,
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        measure_id = db.session.scalars(select(Indicator.measure_id).join(Measure).where(
            Measure.title.like("%Sprach%"))).first() or db.session.scalars(
            select(Indicator.measure_id)).first()
        plan_id = plan.id
        vhs = db.session.scalars(select(Organisation).where(
            Organisation.name.like("VHS%"))).first()
        assert vhs is not None
        office_measure = db.session.scalars(select(Measure.id).where(
            Measure.lead_organisation_id == vhs.id)).first()
        db.session.commit()
    pages = [f"/plaene/{plan_id}/dashboard", f"/plaene/{plan_id}/massnahmen?q=Sprache",
             f"/plaene/{plan_id}/massnahmen?status=in_progress&sort=titel",  # filters open
             f"/massnahmen/{measure_id}", f"/massnahmen/{measure_id}/sachstand",
             f"/massnahmen/{measure_id}/bearbeiten", "/meine-massnahmen"]
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    problems: dict[str, object] = {}
    for width in (390, 1280):
        browser.set_window_size(width, 900)
        for page in pages:
            browser.get(live_server + page)
            sideways = browser.execute_script(SIDEWAYS)
            text = browser.execute_script(SMALLEST_CHART_TEXT)
            violations = [v["id"] for v in axe(browser)["violations"]]
            if sideways > 0 or text < 12 or violations:
                problems[f"{page} @ {width}"] = (sideways, text, violations)
        if width == 390:
            browser.get(f"{live_server}/plaene/{plan_id}/dashboard")
            assert browser.save_screenshot(str(screenshot_dir / "dashboard-390.png"))
    # The office's own pages, as the VHS colleague sees them on her phone and at her desk.
    log_in(browser, live_server, "vhs@demo.hki.invalid")
    for width in (390, 1280):
        browser.set_window_size(width, 900)
        for page in ("/meine-massnahmen", f"/massnahmen/{office_measure}/sachstand",
                     f"/massnahmen/{office_measure}"):
            browser.get(live_server + page)
            assert "Anmelden" not in browser.title, page
            violations = [v["id"] for v in axe(browser)["violations"]]
            sideways = browser.execute_script(SIDEWAYS)
            if sideways > 0 or violations:
                problems[f"office {page} @ {width}"] = (sideways, violations)
    assert problems == {}, problems
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    # The finder's results start on the first screen of a phone, not below the filters.
    browser.set_window_size(390, 900)
    browser.get(f"{live_server}/plaene/{plan_id}/massnahmen")
    heading = browser.find_element(By.ID, "result-heading")
    assert heading.rect["y"] < 900, heading.rect


def test_a_plain_click_adds_a_partner_and_keeps_the_others(
    app: Flask, live_server: str, browser: webdriver.Chrome,
) -> None:
    with app.app_context(), app.test_request_context():
        seed_demo(db.session)
        measure = db.session.scalars(select(Measure).where(Measure.partners.any())).first()
        assert measure is not None
        before = {p.name for p in measure.partners}
        extra = db.session.scalars(select(Organisation).where(
            Organisation.name.not_in(before), Organisation.id != measure.lead_organisation_id,
            Organisation.is_active)).first()
        assert extra is not None
        measure_id, extra_name = measure.id, extra.name
        db.session.commit()
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.set_window_size(390, 900)
    browser.get(f"{live_server}/massnahmen/{measure_id}/bearbeiten")
    label = browser.find_element(By.XPATH, f"//fieldset//label[normalize-space()='{extra_name}']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", label)
    label.click()  # an ordinary click, no Ctrl
    assert browser.find_element(By.ID, label.get_attribute("for") or "").is_selected()
    browser.find_element(By.XPATH, "//button[normalize-space()='Speichern']").click()
    WebDriverWait(browser, 10).until(EC.url_to_be(f"{live_server}/massnahmen/{measure_id}"))
    with app.app_context():
        saved = {p.name for p in db.session.get_one(Measure, measure_id).partners}
    assert saved == before | {extra_name}
