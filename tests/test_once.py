"""Every request stored once (#19 F4): a form sent twice – one after the other, or five
times at the same moment against a served app with threads – stores one status update;
a form refused and corrected keeps its key; pages without a key work as before."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import func, select

from hki.demo.seed import DEMO_PASSWORD, seed_demo
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.reports.models import Report
from hki.submissions import FIELD, Submission
from hki.transfer import jobs as import_jobs
from hki.transfer.models import DataImport, ImportJob
from hki.updates.models import StatusUpdate
from tests.served import at_once, served, together
from tests.transfer.test_import_errors import workbook

FORM = {"as_of": "2025-06-30", "status": "in_progress", "progress": "40",
        "note": "Kurs läuft, zweite Gruppe gestartet"}


def _setup(app: Flask) -> tuple[int, str]:
    """The demo plan; a measure; the coordinator's session cookie."""
    with app.app_context():
        seed_demo(db.session)
        db.session.commit()
        measure_id = db.session.scalars(select(Measure.id).order_by(Measure.id)).first()
        assert measure_id is not None
    client = app.test_client()
    client.post("/anmelden", data={"email": "koordination@demo.hki.invalid",
                                   "password": DEMO_PASSWORD})
    cookie = client.get_cookie("hki_session")
    assert cookie is not None
    return measure_id, cookie.value


def _updates(app: Flask, measure_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatusUpdate).where(
            StatusUpdate.measure_id == measure_id)) or 0


def test_sent_twice_stores_once_and_a_refused_form_keeps_its_key(
    fresh_apps: Callable[..., Flask],
) -> None:
    app = fresh_apps()
    measure_id, _cookie = _setup(app)
    client = app.test_client()
    client.post("/anmelden", data={"email": "koordination@demo.hki.invalid",
                                   "password": DEMO_PASSWORD})
    url = f"/massnahmen/{measure_id}/sachstand"
    page = client.get(url).get_data(as_text=True)
    assert f'name="{FIELD}"' in page
    before = _updates(app, measure_id)
    refused = client.post(url, data={**FORM, "progress": "250", FIELD: "a" * 32})
    assert refused.status_code == 200 and _updates(app, measure_id) == before
    first = client.post(url, data={**FORM, FIELD: "a" * 32})
    again = client.post(url, data={**FORM, FIELD: "a" * 32}, follow_redirects=True)
    assert first.status_code == 302
    assert "Diese Eingabe war schon gespeichert" in again.get_data(as_text=True)
    assert _updates(app, measure_id) == before + 1
    without_key = client.post(url, data={**FORM, "as_of": "2025-07-31"})
    assert without_key.status_code == 302 and _updates(app, measure_id) == before + 2
    with app.app_context():
        stored = db.session.get(Submission, "a" * 32)
        assert stored is not None and stored.location == first.location


def test_five_at_the_same_moment_store_once(fresh_apps: Callable[..., Flask]) -> None:
    app = fresh_apps()
    measure_id, cookie = _setup(app)
    before = _updates(app, measure_id)
    body = urlencode({**FORM, FIELD: "b" * 32}).encode()
    with served(app) as port:
        answers = at_once(5, port, f"/massnahmen/{measure_id}/sachstand", body,
                          f"hki_session={cookie}")
    assert sorted(a.status for a in answers) == [302] * 5, answers
    assert _updates(app, measure_id) == before + 1
    # All five are sent where the first went, none back to the form's POST address.
    locations = {a.location for a in answers}
    assert len(locations) == 1 and not locations.pop().endswith("/sachstand"), answers


def test_a_waiting_import_confirmed_four_times_at_once_is_written_once(
    fresh_apps: Callable[..., Flask],
) -> None:
    """F9: parallel confirmations gave 500s (StaleDataError) and several records."""
    app = fresh_apps()
    _measure_id, cookie = _setup(app)
    client = app.test_client()
    client.post("/anmelden", data={"email": "koordination@demo.hki.invalid",
                                   "password": DEMO_PASSWORD})
    page = client.post("/import", data={"datei": (io.BytesIO(workbook()), "plan.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    token = page.split('action="/import/')[1].split('"')[0]
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(DataImport)) or 0
    with served(app) as port:
        answers = at_once(4, port, f"/import/{token}", b"", f"hki_session={cookie}")
    assert sorted(a.status for a in answers) == [302] * 4, answers
    assert len({a.location for a in answers}) == 1, answers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 1
        while import_jobs.run_once(db.session) is not None:  # the worker writes it
            pass
        assert db.session.scalar(select(func.count()).select_from(DataImport)) == before + 1


def _reports(app: Flask, plan_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Report).where(
            Report.plan_id == plan_id)) or 0


def test_five_tabs_issuing_a_report_for_a_new_stichtag_issue_one(
    fresh_apps: Callable[..., Flask],
) -> None:
    """F4: each tab's form has its own key, and yet one report unless confirmed.

    A tab that comes second is sent to the first one's report (both sent at the same
    moment) or asked to confirm (it saw the first one issued): never a second report.
    """
    app = fresh_apps()
    _measure_id, cookie = _setup(app)
    with app.app_context():
        plan_id = db.session.scalars(select(Plan.id)).first()
    assert plan_id is not None
    before = _reports(app, plan_id)
    form = {"stichtag": "2025-09-30", "vergleich": ""}
    path = f"/plaene/{plan_id}/berichte"
    with served(app) as port:
        answers = together(port, path, [urlencode({**form, FIELD: f"tab{i}" * 8}).encode()
                                        for i in range(5)], f"hki_session={cookie}")
        assert {a.status for a in answers} <= {200, 302}, answers
        assert len({a.location for a in answers if a.status == 302}) == 1, answers
        assert _reports(app, plan_id) == before + 1
        # Three tabs confirm "a second one" (the form names the one report they saw).
        confirmed = together(port, path, [
            urlencode({**form, "bestaetigt": "1", FIELD: f"ok{i}" * 8}).encode()
            for i in range(3)], f"hki_session={cookie}")
        assert sorted(a.status for a in confirmed) == [302] * 3, confirmed
        assert _reports(app, plan_id) == before + 2
        # A confirmation of what is no longer the latest count issues nothing new.
        late = together(port, path, [urlencode({**form, "bestaetigt": "1",
                                                FIELD: "late" * 8}).encode()],
                        f"hki_session={cookie}")
    assert [a.status for a in late] == [302] and _reports(app, plan_id) == before + 2


def test_the_confirmation_form_names_the_count_it_shows(fresh_apps: Callable[..., Flask]
                                                         ) -> None:
    app = fresh_apps()
    _setup(app)
    client = app.test_client()
    client.post("/anmelden", data={"email": "koordination@demo.hki.invalid",
                                   "password": DEMO_PASSWORD})
    with app.app_context():
        plan_id = db.session.scalars(select(Plan.id)).first()
    path = f"/plaene/{plan_id}/berichte"
    assert client.post(path, data={"stichtag": "2025-09-30"}).status_code == 302
    page = client.post(path, data={"stichtag": "2025-09-30"}).get_data(as_text=True)
    assert 'name="bestaetigt" value="1"' in page and "Trotzdem ausgeben" in page
    for odd in ("²", "-1", "x" * 20):
        assert client.post(path, data={"stichtag": "2025-09-30", "bestaetigt": odd}
                           ).status_code == 302  # read as "the current count"


def test_two_tabs_of_the_abschlussbericht_issue_it_once(fresh_apps: Callable[..., Flask]
                                                        ) -> None:
    """Each tab names the count it showed: opened before either was sent, they issue one;
    a page opened afterwards issues another on purpose."""
    app = fresh_apps()
    _setup(app)
    client = app.test_client()
    client.post("/anmelden", data={"email": "koordination@demo.hki.invalid",
                                   "password": DEMO_PASSWORD})
    with app.app_context():
        plan_id = db.session.scalars(select(Plan.id)).first()
    path = f"/plaene/{plan_id}/abschlussbericht"

    def form() -> dict[str, str]:
        page = client.get(path).get_data(as_text=True)
        return {name: page.split(f'name="{name}" value="')[1].split('"')[0]
                for name in (FIELD, "ausgegeben")}

    first, second = form(), form()
    assert first["ausgegeben"] == second["ausgegeben"] == "0"
    one, two = client.post(path, data=first), client.post(path, data=second)
    assert one.status_code == two.status_code == 302 and one.location == two.location
    assert _reports(app, plan_id or 0) == 1
    later = form()
    assert later["ausgegeben"] == "1"
    assert client.post(path, data=later).location != one.location
    assert _reports(app, plan_id or 0) == 2
