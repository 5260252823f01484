"""The demo plan's overview as a person sees it in Chromium: real numbers, German text."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from hki.demo.seed import DEMO_PASSWORD, seed_demo
from hki.extensions import db
from hki.plan.models import Measure

pytestmark = pytest.mark.browser


def test_demo_overview_in_chromium(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path
) -> None:
    with app.app_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        plan_id = plan.id
        measure_id = db.session.scalars(select(Measure.id).where(Measure.number == "1.1.2")).one()
        db.session.commit()

    # Anonymous visitors land on the login page and come back after logging in.
    browser.delete_all_cookies()
    browser.get(f"{live_server}/plaene/{plan_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Anmelden"
    browser.find_element(By.ID, "email").send_keys("rat@demo.hki.invalid")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    WebDriverWait(browser, 10).until(EC.url_to_be(f"{live_server}/plaene/{plan_id}"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(
        "Handlungskonzept Integration 2020–2025"
    )
    summary = browser.find_element(By.CSS_SELECTOR, "table.summary").text
    assert "✓ abgeschlossen 21" in summary
    assert "– ohne Sachstand 29" in summary
    assert "Maßnahmen insgesamt 80" in summary
    row = browser.find_element(By.XPATH, "//tr[td[@class='number' and text()='1.1.2']]").text
    assert row.startswith("1.1.2 Integrationskurse mit Kinderbetreuung VHS Wilhelmshaven")
    assert "✓ abgeschlossen" in row and "100 %" in row and "31.12.2024" in row
    assert browser.save_screenshot(str(screenshot_dir / "uebersicht.png"))

    browser.find_element(By.LINK_TEXT, "Integrationskurse mit Kinderbetreuung").click()
    WebDriverWait(browser, 10).until(EC.url_contains(f"/massnahmen/{measure_id}"))
    assert (
        "Aktueller Umsetzungsstand: ✓ abgeschlossen"
        in browser.find_element(By.TAG_NAME, "main").text
    )
    assert browser.save_screenshot(str(screenshot_dir / "massnahme.png"))
