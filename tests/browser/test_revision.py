"""In Chromium, at 1280 px and 390 px with axe: the coordinator begins the Fortschreibung of
the demo plan (stored at once), merges two fields, decides page by page, is logged out
for inactivity in the middle and resumes where the draft was saved, sets new end dates,
records the council's adoption, and the old plan is closed."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select

from hki.demo.seed import DEMO_PASSWORD, seed_demo
from hki.extensions import db
from hki.plan.models import Field, Measure, Plan
from hki.revision import services
from hki.revision.models import MeasureOutcome
from hki.vocab import Outcome, PlanState
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe
from tests.browser.test_phone import SIDEWAYS
from tests.conftest import analyze

pytestmark = pytest.mark.browser


def _checked(browser: webdriver.Chrome, problems: dict[str, Any], name: str) -> None:
    """Run axe on the page (and the sideways check on a phone); note what it finds."""
    result = axe(browser)
    assert result["passes"] > 10, name
    if result["violations"]:
        problems[name] = [(v["id"], [n["target"] for n in v["nodes"]][:3])
                          for v in result["violations"]]
    width = browser.execute_script("return window.innerWidth")
    if width < 500 and browser.execute_script(SIDEWAYS) > 0:
        problems[f"{name} (seitlich)"] = browser.execute_script(SIDEWAYS)


def _submit(browser: webdriver.Chrome, xpath: str) -> None:
    """Click a submit button and wait until the next page has loaded.

    The old page is marked; the wait ends when a document without the mark is complete
    (a check on the address alone misses a form shown again at the same address).
    """
    browser.execute_script("document.documentElement.dataset.old = '1'")
    browser.find_element(By.XPATH, xpath).click()
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "return document.readyState === 'complete' && !document.documentElement.dataset.old"))


def test_fortschreibung_of_the_demo_plan_with_a_timeout_in_the_middle(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path,
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        analyze(db.session)
        db.session.commit()
        plan_id = plan.id
        fields = [f.id for f in plan.fields]
        first_page = services.active_measures(plan)[:9]
        drop = first_page[1]
        drop_id, drop_number = drop.id, drop.number
    problems: dict[str, Any] = {}
    browser.set_window_size(1280, 900)
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.get(f"{live_server}/plaene/{plan_id}")
    browser.find_element(By.LINK_TEXT, "Fortschreibung beginnen").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "title")))
    _checked(browser, problems, "beginnen")
    _submit(browser, "//button[text()='Entwurf anlegen']")
    assert "ist angelegt und gespeichert" in browser.find_element(By.CLASS_NAME, "flash").text
    _checked(browser, problems, "übersicht")
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-uebersicht.png"))

    # Merge field 7 (Sprachmittlung) into field 1: its measures move along.
    with app.app_context():
        draft = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan_id)).one()
        seven = db.session.scalars(select(Field).where(Field.plan_id == draft.id,
                                                       Field.number == "7")).one()
        one = db.session.scalars(select(Field).where(Field.plan_id == draft.id,
                                                     Field.number == "1")).one()
        seven_id, one_id, draft_id = seven.id, one.id, draft.id
    Select(browser.find_element(By.ID, f"merge-f-{seven_id}")).select_by_value(str(one_id))
    form = browser.find_element(By.ID, f"merge-f-{seven_id}").find_element(By.XPATH, "..")
    before = browser.current_url
    form.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url != before)
    assert "die Maßnahmen sind mitgewandert" in browser.find_element(By.CLASS_NAME,
                                                                     "flash").text

    # Page 1: drop one measure; the error summary links to its row; then saved.
    browser.get(f"{live_server}/plaene/{plan_id}/fortschreibung/massnahmen/{fields[0]}")
    Select(browser.find_element(By.NAME, f"outcome-{drop_id}")).select_by_visible_text(
        "entfallen lassen")
    for element in browser.find_elements(By.CSS_SELECTOR, "input[name^=end-]"):
        element.clear()  # open end: Daueraufgaben in the new plan
    _submit(browser, "//button[text()='Speichern und weiter']")
    link = browser.find_element(By.CSS_SELECTOR, ".error-summary a")
    assert (link.get_attribute("href") or "").endswith(f"#m-{drop_id}")
    _checked(browser, problems, "entscheidungen-fehler")
    browser.find_element(By.NAME, f"reason-{drop_id}").send_keys("Wird vom Land übernommen")
    _submit(browser, "//button[text()='Speichern und weiter']")
    assert browser.current_url.endswith(f"/massnahmen/{fields[1]}")

    # Page 2: the session runs out while the coordinator types; after logging in again she
    # is back on page 2, and page 1 is still saved.
    app.config["HKI_IDLE_MINUTES"] = 0.01
    try:
        time.sleep(1.5)
        _submit(browser, "//button[text()='Speichern und weiter']")
    finally:
        app.config["HKI_IDLE_MINUTES"] = 30
    assert "Inaktivität" in browser.find_element(By.CLASS_NAME, "flash").text
    browser.find_element(By.ID, "email").send_keys("koordination@demo.hki.invalid")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    _submit(browser, "//main//button[@type='submit']")
    assert browser.current_url.endswith(f"/massnahmen/{fields[1]}")
    with app.app_context():
        stored = db.session.scalars(select(MeasureOutcome).where(
            MeasureOutcome.measure_id == drop_id)).one()
        assert (stored.outcome, stored.reason) == (Outcome.DROPPED, "Wird vom Land übernommen")
    for element in browser.find_elements(By.CSS_SELECTOR, "input[name^=end-]"):
        element.clear()
    element.send_keys("31.12.2029")  # the last one ends in 2029
    _submit(browser, "//button[text()='Speichern und zur Übersicht']")
    assert "Gespeichert:" in browser.find_element(By.CLASS_NAME, "flash").text

    # The offices are asked; the VHS proposes for its measures (on a phone), the
    # Integrationsbeirat reads the draft through a link.
    browser.get(f"{live_server}/plaene/{plan_id}/fortschreibung#abfrage")
    browser.execute_script("document.getElementById('due_date').value = '2099-01-31'")
    _submit(browser, "//button[text()='Abfrage öffnen']")
    assert "offen bis 31.01.2099" in browser.find_element(By.CLASS_NAME, "flash").text
    browser.find_element(By.ID, "label").send_keys("Integrationsbeirat")
    browser.execute_script("document.getElementById('expires_on').value = arguments[0]",
                           (date.today() + timedelta(days=30)).isoformat())
    _submit(browser, "//button[text()='Link erzeugen']")
    share_link = browser.find_element(By.CLASS_NAME, "flash").text.rsplit(" ", 1)[-1]
    assert "/einblick/" in share_link
    log_in(browser, live_server, "vhs@demo.hki.invalid")
    browser.set_window_size(390, 844)
    browser.get(f"{live_server}/meine-massnahmen")
    browser.find_element(By.LINK_TEXT, "Vorschläge machen").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.TAG_NAME, "fieldset")))
    _checked(browser, problems, "vorschläge-390")
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-vorschlaege-390.png"))
    first = browser.find_element(By.CSS_SELECTOR, "fieldset textarea[name^=reason-]")
    first.send_keys("Bedarf bleibt hoch; Kurse weiter ausgebucht")
    _submit(browser, "//button[text()='Vorschläge speichern']")
    assert "gespeichert" in browser.find_element(By.CLASS_NAME, "flash").text
    browser.delete_all_cookies()
    browser.get(share_link)
    assert "nur zum Lesen" in browser.page_source
    _checked(browser, problems, "einblick-390")
    browser.set_window_size(1280, 900)
    log_in(browser, live_server, "koordination@demo.hki.invalid")

    # The rest: one new end for every measure whose old end lies before 2026.
    browser.get(f"{live_server}/plaene/{plan_id}/fortschreibung")
    assert "Vor dem Beschluss offen" in browser.page_source
    browser.execute_script("document.getElementById('end_date').value = '2031-12-31'")
    _submit(browser, "//button[text()='Neues Ende für alle setzen']")
    assert "enden jetzt am 31.12.2031" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "Vor dem Beschluss offen" not in browser.page_source

    # On a phone: the overview, a decision page and the mapping.
    browser.set_window_size(390, 844)
    for name, path in (("übersicht-390", "/fortschreibung"),
                       ("entscheidungen-390", f"/fortschreibung/massnahmen/{fields[6]}"),
                       ("zuordnung-390", "/fortschreibung/zuordnung?sortierung=neu")):
        browser.get(f"{live_server}/plaene/{plan_id}{path}")
        _checked(browser, problems, name)
        assert browser.save_screenshot(str(screenshot_dir / f"fortschreibung-{name}.png"))
    browser.set_window_size(1280, 900)
    browser.get(f"{live_server}/plaene/{plan_id}/fortschreibung/zuordnung")
    _checked(browser, problems, "zuordnung")
    assert browser.save_screenshot(str(screenshot_dir / "fortschreibung-zuordnung.png"))
    assert problems == {}, problems

    browser.get(f"{live_server}/plaene/{draft_id}/beschluss")
    browser.execute_script("document.getElementById('adopted_on').value = '2026-02-26'")
    browser.find_element(By.ID, "adoption_paper_ref").send_keys("V-2026/017")
    _submit(browser, "//button[text()='Beschluss speichern']")
    assert "ist jetzt abgeschlossen und nur noch lesbar" in browser.find_element(
        By.CLASS_NAME, "flash").text

    with app.app_context():
        old = db.session.get(Plan, plan_id)
        assert old is not None and old.state is PlanState.CLOSED
        new = db.session.get(Plan, draft_id)
        assert new is not None and (new.state, new.adoption_paper_ref) == (
            PlanState.ADOPTED, "V-2026/017")
        carried = db.session.scalar(select(func.count()).select_from(MeasureOutcome).where(
            MeasureOutcome.outcome == Outcome.CARRIED_OVER))
        assert db.session.scalar(select(func.count()).select_from(Measure).where(
            Measure.origin_id.is_not(None), Measure.archived_at.is_(None))) == carried
        pool = db.session.scalars(select(Measure).where(
            Measure.origin_id.is_not(None), Measure.archived_at.is_(None))).all()
        assert all(not m.number.startswith("7.") for m in pool
                   if m.origin is not None and m.origin.number.startswith("7."))
    browser.get(f"{live_server}/plaene/{plan_id}/abschlussbericht")
    assert drop_number in browser.find_element(By.ID, "verbleib").text
    assert browser.save_screenshot(str(screenshot_dir / "abschlussbericht-vorschau.png"))
