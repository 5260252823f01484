"""An update round in Chromium: an office answers three measures in a row, the KMuT sees it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from hki.auth.services import create_user, find_user
from hki.demo.seed import DEMO_PASSWORD, seed_demo
from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import Organisation
from hki.updates.rounds import open_round
from hki.vocab import Role
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser



def test_office_answers_three_measures_and_coordinator_sees_them(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        coordinator = find_user(db.session, "koordination@demo.hki.invalid")
        assert coordinator is not None
        # The demo VHS has finished most of its measures; the Fachbereich Schule has six
        # still running, so its new office account has enough to answer.
        school = db.session.scalars(
            select(Organisation).where(Organisation.name == "Fachbereich Schule")).one()
        create_user(db.session, email="schule@demo.hki.invalid", display_name="Schulamt",
                    role=Role.OFFICE, organisation=school, password=DEMO_PASSWORD)
        today = local_today()
        rnd = open_round(db.session, plan, coordinator, title="Sachstand Herbst",
                         period_start=today - timedelta(days=7), stichtag=today,
                         due_date=today + timedelta(days=14))
        round_id = rnd.id
        db.session.commit()

    log_in(browser, live_server, "schule@demo.hki.invalid")
    browser.find_element(By.LINK_TEXT, "Meine offenen Maßnahmen").click()
    work = browser.find_element(By.TAG_NAME, "main").text
    assert "Sachstand Herbst" in work and "Maßnahmen ohne Sachstand" in work
    assert browser.save_screenshot(str(screenshot_dir / "meine-massnahmen.png"))
    browser.find_element(By.PARTIAL_LINK_TEXT, "Jetzt beantworten").click()

    answered = []
    for _ in range(3):
        WebDriverWait(browser, 10).until(EC.url_contains(f"runde={round_id}"))
        number = browser.find_element(By.CSS_SELECTOR, "main .number").text
        answered.append(number)
        Select(browser.find_element(By.ID, "status")).select_by_value("in_progress")
        progress = browser.find_element(By.ID, "progress")
        progress.clear()
        progress.send_keys("60")
        browser.find_element(By.ID, "note").send_keys("Kurse laufen, Stand geprüft.")
        form_url = browser.current_url
        browser.find_element(By.XPATH, "//button[text()='Speichern und weiter']").click()
        # The form page itself shows the previous measure's message: wait for the next
        # page (another measure's form, or the list after the last one).
        WebDriverWait(browser, 10).until(EC.url_changes(form_url))
        WebDriverWait(browser, 10).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, ".flash-success")))
        assert f"Der Sachstand für {number} wurde eingereicht" in browser.find_element(
            By.CSS_SELECTOR, ".flash-success").text
    assert len(set(answered)) == 3

    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.get(f"{live_server}/abfragen/{round_id}")
    office_rows = browser.find_elements(By.XPATH, "//table[caption[contains(., 'federführender')]]"
                                                  "//tr[th[text()='Fachbereich Schule']]/td")
    answered_count, waiting = office_rows[0].text, office_rows[1].text
    assert (answered_count, waiting) == ("3", "3")
    done = browser.find_element(By.XPATH, "//h2[text()='Beantwortet']/following-sibling::div").text
    for number in answered:
        assert number in done
    assert "wartet auf Freigabe" in done
    assert browser.save_screenshot(str(screenshot_dir / "abfrage.png"))
