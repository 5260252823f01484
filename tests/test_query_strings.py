"""Odd query strings on every GET route: never a 500.

The parameter names are read from the code (``args.get("…")``, ``text("…")`` and the
like), so a new filter is fuzzed without touching this file; every GET route gets every
name with hostile values: digits ``isdigit`` accepts and ``int`` refuses (²), other
scripts' digits, far years that overflow date arithmetic, impossible days, huge and
negative numbers, markup and SQL. Each route is asked once per value with all names at
once, and where that is refused (400) once per name, as coordinator (who sees most).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.i18n import FIRST_YEAR, LAST_YEAR, ascii_int, parse_day
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories

ROOT = Path(__file__).resolve().parents[1] / "hki"
NAMES = re.compile(r"""(?:args\.get(?:list)?|values\.get|getlist|text)\(\s*"([a-z_]+)\"""")
#: Values that once ended in a 500 somewhere, or could.
HOSTILE = ["²", "٢٠٢٦", "9999-12-31", "0001-01-01", "31.02.2026", "99999999999999999999",
           "-1' OR 1=1 --<script>", ""]


def query_names() -> list[str]:
    """Every name the application reads from a query string or form by hand."""
    names = {m for path in ROOT.rglob("*.py") for m in NAMES.findall(path.read_text("utf-8"))}
    return sorted(names | {"von", "bis"})


def test_parsers_take_ascii_digits_and_plausible_years_only() -> None:
    assert [ascii_int(v) for v in ("12", "²", "٢", "0012", "1" * 10, " 7 ", "-1")] == [
        12, None, None, 12, None, 7, None]
    assert parse_day("٢٠٢٦-٠١-٠١") is None and parse_day("31.12.9999") is None
    assert parse_day(f"01.01.{FIRST_YEAR}") == date(FIRST_YEAR, 1, 1)
    assert parse_day(f"{LAST_YEAR}-12-31") == date(LAST_YEAR, 12, 31)
    assert parse_day(f"{LAST_YEAR + 1}-01-01") is None


def _urls(app: Flask, ids: dict[str, int | str]) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in {"static", "auth.logout"}:
            continue
        values: dict[str, Any] = {arg: ids.get(arg, 1) for arg in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, **values))
    return urls


def test_every_get_route_survives_odd_query_strings(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = seed_demo(db.session).plan
    assert plan is not None
    measure = db.session.scalars(select(Measure)).first()
    assert measure is not None
    rnd = make.round(plan)
    report = make.report(plan)
    make.commit()
    ids: dict[str, int | str] = {
        "plan_id": plan.id, "measure_id": measure.id, "round_id": rnd.id,
        "report_id": report.id, "draft_id": plan.id, "field_id": db.session.scalars(
            select(Field.id)).first() or 1,
        "goal_id": db.session.scalars(select(Goal.id)).first() or 1,
        "indicator_id": db.session.scalars(select(Indicator.id)).first() or 1,
        "organisation_id": db.session.scalars(select(Organisation.id)).first() or 1,
        "fmt": "xlsx", "kind": "massnahme", "direction": "hoch", "token": "x",
    }
    auth.login_as(Role.COORDINATOR)
    names = query_names()
    assert {"stand", "still_monate", "seite", "person", "stichtag", "runde"} <= set(names)
    failures = []
    urls = _urls(app, ids)
    assert len(urls) > 30
    for url in urls:
        for value in HOSTILE:
            asks = [{name: value for name in names}]
            while asks:
                ask = asks.pop()
                target = f"{url}?{urlencode(ask)}"
                status = client.get(target).status_code
                if status >= 500:
                    failures.append((status, target))
                elif status == 400 and len(ask) > 1:
                    # One name refused early may hide another's failure: one at a time.
                    asks.extend({name: value} for name in ask)
    assert failures == [], failures[:10]
