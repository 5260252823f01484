"""axe-core in headless Chromium: no WCAG 2.1 A/AA violation on any page type, at tablet
(768 px) and desktop (1280 px) width; screenshots of dashboard and finder for the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
RUN = ("const done = arguments[arguments.length - 1];"
       "axe.run(document, {runOnly: {type: 'tag', values: "
       "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
       ".then(r => done({violations: r.violations.map(v => ({id: v.id, help: v.help, "
       "nodes: v.nodes.map(n => n.target.join(' '))})), passes: r.passes.length}))"
       ".catch(e => done({error: String(e)}));")


def axe(browser: webdriver.Chrome) -> dict[str, Any]:
    browser.execute_script(AXE)
    result: dict[str, Any] = browser.execute_async_script(RUN)
    assert "error" not in result, result
    return result



def test_no_wcag_violations_on_any_page_type(
    app: Flask, live_server: str, browser: webdriver.Chrome, screenshot_dir: Path
) -> None:
    with app.app_context():
        plan = seed_demo(db.session).plan
        assert plan is not None
        plan_id = plan.id
        measure_id = db.session.scalars(select(Measure.id).where(Measure.number == "1.1.2")).one()
        db.session.commit()
    # Control: a page with an image lacking alternative text and no language must fail.
    browser.get("data:text/html;charset=utf-8,<title>x</title><img src='x.png'>")
    assert {v["id"] for v in axe(browser)["violations"]} >= {"image-alt", "html-has-lang"}

    browser.delete_all_cookies()
    browser.set_window_size(1280, 900)
    browser.get(f"{live_server}/anmelden")
    problems: dict[str, Any] = {}
    login_result = axe(browser)
    if login_result["violations"]:
        problems["/anmelden"] = login_result["violations"]

    reader_pages = [
        "/", f"/plaene/{plan_id}", f"/massnahmen/{measure_id}", f"/plaene/{plan_id}/dashboard",
        f"/plaene/{plan_id}/dashboard?stand=2023-06-30",
        f"/plaene/{plan_id}/massnahmen?q=Sprachfoerderung&status=completed&sort=titel",
        f"/plaene/{plan_id}/massnahmen?stand=kaputt", f"/plaene/{plan_id}/berichte",
    ]
    coordinator_pages = [
        f"/massnahmen/{measure_id}/sachstand", f"/massnahmen/{measure_id}/bearbeiten",
        f"/plaene/{plan_id}/abfragen", f"/plaene/{plan_id}/abfragen/neu", "/freigabe",
        "/protokoll", f"/plaene/{plan_id}/nummerierung", "/import",
    ]
    checked = 1
    for email, pages in (("rat@demo.hki.invalid", reader_pages),
                         ("koordination@demo.hki.invalid", coordinator_pages)):
        log_in(browser, live_server, email)
        for width in (1280, 768):
            browser.set_window_size(width, 900)
            for page in pages:
                browser.get(live_server + page)
                assert "Anmelden" not in browser.title, page
                result = axe(browser)
                assert result["passes"] > 10, page  # axe really ran on the page
                checked += 1
                if result["violations"]:
                    problems[f"{page} @ {width}px"] = result["violations"]
    assert problems == {}, problems
    assert checked == 1 + 2 * (len(reader_pages) + len(coordinator_pages))

    # Screenshots for the README, looked at: the dashboard and the finder, tablet and desktop.
    log_in(browser, live_server, "rat@demo.hki.invalid")
    for width, height in ((768, 1400), (1280, 1100)):
        browser.set_window_size(width, height)
        browser.get(f"{live_server}/plaene/{plan_id}/dashboard")
        assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Dashboard")
        assert browser.save_screenshot(str(screenshot_dir / f"dashboard-{width}.png"))
        browser.get(f"{live_server}/plaene/{plan_id}/massnahmen?q=Sprachfoerderung")
        heading = browser.find_element(By.ID, "result-heading").text
        assert heading.endswith("Maßnahmen") or heading.endswith("Maßnahme")
        assert browser.save_screenshot(str(screenshot_dir / f"finder-{width}.png"))
