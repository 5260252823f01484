"""The report page's "Vorschau ansehen" shows the Stichtag typed into the form."""

from __future__ import annotations

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from hki.demo.seed import seed_demo
from hki.extensions import db
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_preview_shows_the_stichtag_typed_not_the_one_the_page_came_with(
    app: Flask, live_server: str, browser: webdriver.Chrome,
) -> None:
    with app.app_context(), app.test_request_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        plan_id = plan.id
        db.session.commit()
    log_in(browser, live_server, "koordination@demo.hki.invalid")
    browser.get(f"{live_server}/plaene/{plan_id}/berichte")
    stichtag = browser.find_element(By.ID, "stichtag")
    assert stichtag.get_attribute("value") != "2024-12-31"
    # What the date picker delivers after a person chose the day.
    browser.execute_script("arguments[0].value = '2024-12-31';", stichtag)
    browser.execute_script("arguments[0].value = '';", browser.find_element(By.ID, "vergleich"))
    browser.find_element(By.XPATH, "//button[normalize-space()='Vorschau ansehen']").click()
    WebDriverWait(browser, 10).until(EC.url_contains("/bericht?"))
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Stichtag 31.12.2024, Kenntnisstand jetzt." in text
