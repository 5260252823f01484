"""In Chromium: the coordinator carries the demo plan into its successor, drops one measure
with a reason, confirms, records the council's adoption, and the old plan is closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.revision import services
from hki.revision.models import MeasureOutcome
from hki.vocab import Outcome, PlanState
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe
from tests.conftest import analyze

pytestmark = pytest.mark.browser


def test_wizard_for_the_demo_plan_end_to_end(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path,
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        analyze(db.session)
        db.session.commit()
        plan_id = plan.id
        items = services.proposals(plan)
        drop = next(i for i in items if i.outcome is Outcome.CARRIED_OVER)
        drop_id, drop_number = drop.measure.id, drop.measure.number
        carried = sum(i.outcome is Outcome.CARRIED_OVER for i in items) - 1

    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.get(f"{live_server}/plaene/{plan_id}")
    browser.find_element(By.LINK_TEXT, "Fortschreibung anlegen").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "structure")))
    assert axe(browser)["violations"] == []
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-assistent.png"))
    Select(browser.find_element(By.NAME, f"outcome-{drop_id}")).select_by_visible_text(
        "entfallen lassen")
    browser.find_element(By.XPATH, "//button[text()='Prüfen']").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CLASS_NAME,
                                                                     "error-summary")))
    assert "Bitte begründen Sie" in browser.find_element(By.CLASS_NAME, "row-error").text
    browser.find_element(By.NAME, f"reason-{drop_id}").send_keys("Wird vom Land übernommen")
    browser.find_element(By.XPATH, "//button[text()='Prüfen']").click()
    summary = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CLASS_NAME, "summary-box"))).text
    assert f"{carried} Maßnahmen werden übernommen" in summary
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-pruefen.png"))
    browser.find_element(By.XPATH, "//button[text()='Fortschreibung anlegen']").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CLASS_NAME, "flash")))
    assert f"{carried} Maßnahmen übernommen" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "Fortschreibung von" in browser.find_element(By.CLASS_NAME, "lineage").text

    browser.find_element(By.LINK_TEXT, "Beschluss des Rates erfassen").click()
    browser.execute_script("document.getElementById('adopted_on').value = '2026-02-26'")
    browser.find_element(By.ID, "adoption_paper_ref").send_keys("V-2026/017")
    browser.find_element(By.XPATH, "//button[text()='Beschluss speichern']").click()
    flash = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CLASS_NAME, "flash"))).text
    assert "ist jetzt abgeschlossen und nur noch lesbar" in flash
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-beschlossen.png"))

    with app.app_context():
        old = db.session.get(Plan, plan_id)
        assert old is not None and old.state is PlanState.CLOSED
        new = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan_id)).one()
        assert (new.state, new.adoption_paper_ref) == (PlanState.ADOPTED, "V-2026/017")
        assert db.session.scalar(select(func.count()).select_from(Measure).where(
            Measure.origin_id.is_not(None))) == carried
        outcome = db.session.scalars(select(MeasureOutcome).where(
            MeasureOutcome.measure_id == drop_id)).one()
        assert (outcome.outcome, outcome.reason) == (Outcome.DROPPED, "Wird vom Land übernommen")
    browser.get(f"{live_server}/plaene/{plan_id}/abschlussbericht")
    assert f"{drop_number}" in browser.find_element(By.ID, "verbleib").text
    assert browser.save_screenshot(str(screenshot_dir / "abschlussbericht-vorschau.png"))
