"""The user mix of bench/load.py: readers browsing, offices posting updates, coordinators
drafting and issuing reports. Settings come from the JSON file in HKI_LOAD_SETUP."""

from __future__ import annotations

import json
import os
import random
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

SETUP: dict[str, Any] = json.loads(Path(os.environ["HKI_LOAD_SETUP"]).read_text("utf-8"))
PASSWORD = SETUP["password"]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
POSTED: list[str] = []


def _today() -> str:
    """Today where the users are (answers may not describe a day in the future)."""
    return datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    return match.group(1) if match else ""


class Logged(HttpUser):
    abstract = True
    email = ""

    def on_start(self) -> None:
        self.client.verify = False
        # Browsers send it (same origin); Flask-WTF checks it on HTTPS.
        self.client.headers["Referer"] = f"{self.host}/"
        page = self.client.get("/anmelden", name="login form").text
        self.client.post("/anmelden", name="login", data={
            "csrf_token": _csrf(page), "email": self.email, "password": PASSWORD})


class Reader(Logged):
    """A council member before the meeting: dashboard, finder, measures."""

    weight = 50
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.email = SETUP["reader"]
        super().on_start()

    @task(3)
    def dashboard(self) -> None:
        plan = random.choice(SETUP["plans"])
        self.client.get(f"/plaene/{plan}/dashboard", name="dashboard")

    @task(3)
    def finder(self) -> None:
        plan = random.choice(SETUP["plans"])
        query = random.choice(["", "?status=delayed", "?q=Sprache", "?sort=datum"])
        self.client.get(f"/plaene/{plan}/massnahmen{query}", name="finder")

    @task(4)
    def measure(self) -> None:
        self.client.get(f"/massnahmen/{random.choice(SETUP['measures'])}", name="measure")

    @task(1)
    def overview(self) -> None:
        self.client.get(f"/plaene/{random.choice(SETUP['plans'])}", name="plan overview")


class Office(Logged):
    """A lead office answering for its measures."""

    weight = 10
    wait_time = between(3, 8)

    def on_start(self) -> None:
        office = SETUP["offices"][Office.started % len(SETUP["offices"])]
        Office.started += 1
        self.email, self.measures = office["email"], office["measures"]
        super().on_start()

    started = 0

    @task
    def post_update(self) -> None:
        measure = random.choice(self.measures)
        form = self.client.get(f"/massnahmen/{measure}/sachstand", name="update form").text
        token = f"Lasttest {os.getpid()}-{len(POSTED)}-{random.randrange(10**9)}"
        with self.client.post(f"/massnahmen/{measure}/sachstand", name="post update",
                              allow_redirects=False, catch_response=True, data={
                                  "csrf_token": _csrf(form), "as_of": _today(),
                                  "status": "in_progress",
                                  "progress": str(random.randint(1, 99)), "note": token,
                              }) as response:
            if response.status_code == 302:
                POSTED.append(token)
            else:
                response.failure(f"status {response.status_code}")


class Coordinator(Logged):
    """A coordinator drafting the report for the council and issuing the small one."""

    weight = 2
    wait_time = between(10, 20)

    def on_start(self) -> None:
        self.email = SETUP["coordinators"][Coordinator.started % len(SETUP["coordinators"])]
        Coordinator.started += 1
        super().on_start()

    started = 0

    @task(3)
    def draft(self) -> None:
        self.client.get(f"/plaene/{SETUP['large_plan']}/bericht", name="report draft (large)")

    @task(1)
    def issue(self) -> None:
        plan = SETUP["demo_plan"]
        page = self.client.get(f"/plaene/{plan}/berichte", name="reports page").text
        self.client.post(f"/plaene/{plan}/berichte", name="issue report", data={
            "csrf_token": _csrf(page), "stichtag": _today(),
            "bestaetigt": "ja"})


@events.test_stop.add_listener
def _write_posted(**_kwargs: Any) -> None:
    Path(SETUP["posted_file"]).write_text(json.dumps(POSTED), "utf-8")
