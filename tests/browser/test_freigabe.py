"""Freigabe in Chromium: a decision leaves the list without reloading the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hki.auth.services import find_user
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.updates.queries import open_review_count
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import axe
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_accept_and_return_without_reload(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path,
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        office = find_user(db.session, "vhs@demo.hki.invalid")
        assert office is not None
        make = Factories(db.session)
        for measure in [m for f in plan.fields for g in f.goals for m in g.measures
                        if m.lead_organisation_id == office.organisation_id][:3]:
            make.update(measure, author=office, accepted=False, note="Zwei Kurse laufen.")
        db.session.commit()
        waiting = open_review_count()
    assert waiting >= 3
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.set_window_size(1280, 900)
    browser.get(f"{live_server}/freigabe")
    result = axe(browser)
    assert result["violations"] == [], [v["id"] for v in result["violations"]]
    browser.execute_script("document.body.dataset.sameDocument = 'ja';")  # gone on reload
    items = browser.find_elements(By.CSS_SELECTOR, "[data-review-item]")
    first = items[0]
    first.find_element(By.XPATH, ".//button[normalize-space()='Freigeben']").click()
    WebDriverWait(browser, 10).until(lambda b: len(
        b.find_elements(By.CSS_SELECTOR, "[data-review-item]")) == len(items) - 1)
    assert browser.execute_script("return document.body.dataset.sameDocument") == "ja"
    assert "freigegeben" in browser.find_element(By.ID, "review-message").text
    assert browser.find_element(By.CSS_SELECTOR, "#review-count [data-list-count]").text == str(
        len(items) - 1)  # the list on the page
    assert browser.find_element(By.CSS_SELECTOR, ".site-nav [data-open-count]").text == str(
        waiting - 1)  # the menu: all open decisions
    # Returning needs a comment: the message says so and the item stays.
    second = browser.find_elements(By.CSS_SELECTOR, "[data-review-item]")[0]
    second.find_element(By.XPATH, ".//button[normalize-space()='Zurückgeben']").click()
    # The message stands beside the button just pressed, not at the top of a long page.
    WebDriverWait(browser, 10).until(lambda b: "was sie ändern soll" in second.find_element(
        By.CSS_SELECTOR, "[data-decide-error]").text)
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-review-item]")) == len(items) - 1
    assert browser.save_screenshot(str(screenshot_dir / "freigabe.png"))
    with app.app_context():
        assert open_review_count() == waiting - 1
