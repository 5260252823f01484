"""Files made by the real programs: a plan typed into LibreOffice Calc, an export it re-saved.

The fixtures in ``fixtures/realplan`` come from ``scripts/libreoffice_typing.py`` (see its
docstring for how to make them again): ``plan.yaml`` is a realistic municipal plan of 48
measures with 100 status answers, typed cell by cell into hki's template under a German
locale, so Calc's own input recognition ran on every value, and saved as .xlsx and .ods
(``typed-in-ods-template.ods``: the same typed into the .ods template).
``resaved-export.*`` is hki's export of that plan, opened in Calc and saved again.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.plan.models import Plan
from hki.reports.data import gather
from hki.reports.render import render_pdf
from hki.transfer import importing
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.reports.test_report import pdf_text

FIXTURES = Path(__file__).parent / "fixtures" / "realplan"
PLAN = yaml.safe_load((FIXTURES / "plan.yaml").read_text("utf-8"))
TITLE = PLAN["concept"]["Titel"]
#: A Stichtag long before the import (which happens today, in the test).
STICHTAG = date(2023, 12, 31)


def _names(cell: str | None) -> tuple[str, ...]:
    """Names as the import reads them: one per line, and separated by semicolons."""
    return tuple(sorted(n.strip() for line in (cell or "").split("\n")
                        for n in line.split(";") if n.strip()))


EXPECTED = {m["Nummer"]: (m["Federführung"], _names(m.get("Kooperationspartner")))
            for f in PLAN["fields"] for g in f["goals"] for m in g["measures"]}


def _import(name: str, make: Factories) -> int:
    author = make.user(role=Role.COORDINATOR, email="kmut@friesenstadt.invalid")
    check = importing.check_import(db.session, (FIXTURES / name).read_bytes(), name)
    assert [str(p) for p in check.problems] == []
    assert check.summary()["Maßnahme neu"] == 48 == len(EXPECTED)
    assert check.summary()["Sachstand neu"] == len(PLAN["answers"])
    importing.apply_import(db.session, check, author)
    db.session.commit()
    return db.session.scalars(select(Plan.id).where(Plan.title == TITLE)).one()


@pytest.mark.parametrize("name", ["typed-plan.xlsx", "typed-plan.ods",
                                  "typed-in-ods-template.ods"])
def test_a_plan_typed_into_libreoffice_imports_without_a_problem(
    make: Factories, name: str,
) -> None:
    plan_id = _import(name, make)
    now = plan_as_of(plan_id, datetime.now(UTC))
    assert now is not None
    measures = {m.number: m for m in now.measures()}
    first = measures["1.1.1"]
    assert first.title.startswith("Zentrale Sprachkursberatung „Deutsch in Friesenstadt“ –")
    assert "\n• einen Einstufungstest," in first.description
    assert first.end_date is None and first.budget_eur == 38_000
    assert [i.baseline_value for i in first.indicators] == [310, 12.5]
    assert {n: (m.lead, m.partners) for n, m in measures.items()} == EXPECTED


def test_history_of_an_imported_plan_names_every_lead_and_partner_on_an_earlier_stichtag(
    make: Factories, client: FlaskClient, auth: Auth,
) -> None:
    plan_id = _import("typed-plan.xlsx", make)
    at = datetime.combine(STICHTAG, datetime.max.time(), tzinfo=UTC)
    past = plan_as_of(plan_id, at)
    assert past is not None
    assert {m.number: (m.lead, m.partners) for m in past.measures()} == EXPECTED

    auth.login_as(Role.COORDINATOR)
    html = client.get(f"/plaene/{plan_id}/bericht?stichtag={STICHTAG.isoformat()}"
                      ).get_data(as_text=True)
    pdf = _flat(pdf_text(render_pdf(gather(plan_id, STICHTAG, datetime.now(UTC)))))
    page = _flat(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").replace("&#34;", '"'))
    for lead, partners in EXPECTED.values():
        for text in (page, pdf):
            assert _flat(f"Federführung: {lead}") in text
            if partners:
                assert _flat(f"Kooperationspartner: {', '.join(partners)}") in text
    for text in (page, pdf):
        assert "?" not in re.findall(r"Federführung:(.)", text)


def _flat(text: str) -> str:
    """Without spaces and hyphens, so that line breaks and hyphenation in a PDF do not count."""
    return re.sub(r"[\s\-‐­]+", "", text)


@pytest.mark.parametrize("name", ["resaved-export.xlsx", "resaved-export.ods"])
def test_an_export_re_saved_by_libreoffice_imports_back_unchanged(
    make: Factories, name: str,
) -> None:
    _import("typed-plan.xlsx", make)
    check = importing.check_import(db.session, (FIXTURES / name).read_bytes(), name)
    assert check.errors == [] and check.changes == []
    assert check.unchanged == 48 + len(PLAN["answers"]) + 26  # measures, answers, fields+goals


@pytest.mark.parametrize("name", ["resaved-export.xlsx", "resaved-export.ods"])
def test_an_export_re_saved_by_libreoffice_moves_the_plan_to_an_empty_installation(
    make: Factories, name: str,
) -> None:
    plan_id = _import(name, make)
    past = plan_as_of(plan_id, datetime(2023, 12, 31, tzinfo=UTC))
    assert past is not None
    assert {m.number: (m.lead, m.partners) for m in past.measures()} == EXPECTED


