"""In Chromium: a coordinator uploads a workbook with a mistake, reads where it is, uploads
the corrected file, confirms, watches the worker write it, and finds the measures in the
plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure
from hki.transfer import jobs as import_jobs
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe
from tests.transfer.test_import_errors import workbook

pytestmark = pytest.mark.browser


def test_coordinator_imports_a_plan_after_fixing_a_mistake(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    with app.app_context(), app.test_request_context():
        seed_demo(db.session)
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Measure)) or 0
    wrong, right = tmp_path / "hki-plan-fehler.xlsx", tmp_path / "hki-plan.xlsx"
    wrong.write_bytes(workbook(edit=lambda b: b["Plan"].__setitem__("D4", "Jugendamtt")))
    right.write_bytes(workbook())

    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.find_element(By.LINK_TEXT, "Import").click()
    assert browser.save_screenshot(str(screenshot_dir / "import-hochladen.png"))
    browser.find_element(By.ID, "datei").send_keys(str(wrong))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CLASS_NAME,
                                                                     "import-problems")))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "1 Problem – es wurde nichts gespeichert" in main
    assert "Plan 4 D (Federführung) Die Organisation „Jugendamtt“ gibt es in hki nicht" in main
    assert not browser.find_elements(By.XPATH, "//button[text()='Import ausführen']")
    assert axe(browser)["violations"] == []
    assert browser.save_screenshot(str(screenshot_dir / "import-fehler.png"))

    browser.find_element(By.LINK_TEXT, "Andere Datei wählen").click()
    browser.find_element(By.ID, "datei").send_keys(str(right))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CLASS_NAME,
                                                                     "import-summary")))
    summary = browser.find_element(By.CLASS_NAME, "import-summary").text
    assert "Maßnahme neu 2" in summary and "Sachstand neu 2" in summary
    assert browser.save_screenshot(str(screenshot_dir / "import-vorschau.png"))
    browser.find_element(By.TAG_NAME, "summary").click()
    assert "Maßnahme neu: 1.1.2 Elterncafés" in browser.find_element(By.TAG_NAME, "main").text
    assert axe(browser)["violations"] == []
    browser.find_element(By.XPATH, "//button[text()='Import ausführen']").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.TAG_NAME,
                                                                     "progress")))
    assert "wartet darauf, ausgeführt zu werden" in browser.find_element(
        By.CSS_SELECTOR, "[role=status]").text
    assert axe(browser)["violations"] == []
    assert browser.save_screenshot(str(screenshot_dir / "import-wartet.png"))
    with app.app_context():  # the worker writes it; the page follows by itself
        assert import_jobs.run_once(db.session) is not None
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CLASS_NAME, "flash")))
    assert "Import abgeschlossen" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "Sprachkitas" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.save_screenshot(str(screenshot_dir / "import-fertig.png"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Measure)) == before + 2
