"""An imported plan's history names the right organisations for any earlier Stichtag."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hki.auth.audit import effective_from
from hki.auth.models import AuditEntry
from hki.extensions import db
from hki.plan.history import BACKDATE, HistoryGapError, cover_references, plan_as_of
from hki.plan.models import Plan
from hki.transfer import importing
from hki.vocab import Role
from tests.factories import Factories
from tests.transfer.test_import_errors import checked, workbook

BEFORE_IMPORT = datetime(2026, 6, 30, 12, tzinfo=UTC)


def test_organisations_of_an_imported_plan_exist_as_long_as_its_measures(
    make: Factories,
) -> None:
    # "Jugendamt" was created in hki today, long after the plan's start; the others come
    # with the file. Both kinds must be known on a Stichtag before the import day.
    make.organisation("Jugendamt")
    author = make.user(role=Role.COORDINATOR)
    make.commit()
    check = checked(workbook(organisations=("VHS", "Kita-Verband")))
    assert check.errors == []
    importing.apply_import(db.session, check, author)
    db.session.commit()
    plan_id = db.session.scalars(select(Plan.id).where(
        Plan.title == "HKI Musterstadt 2026–2030")).one()

    past = plan_as_of(plan_id, BEFORE_IMPORT)
    assert past is not None
    assert [(m.number, m.lead, m.partners, m.target_groups) for m in past.measures()] == [
        ("1.1.1", "Jugendamt", ("Kita-Verband", "VHS"), ("Kinder",)),
        ("1.1.2", "VHS", (), ("Eltern", "Neuzugewanderte")),
    ]
    backdated = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == BACKDATE)).all()
    # The organisations needed it; the target groups, created with the tree, did not.
    assert {(e.entity, e.snapshot["name"]) for e in backdated if e.snapshot} == {
        ("organisations", "Jugendamt"), ("organisations", "VHS"),
        ("organisations", "Kita-Verband")}
    # Running the rule again finds nothing left to cover.
    assert cover_references(db.session, plan_id) == 0


def test_a_reference_history_cannot_resolve_fails_loudly(make: Factories) -> None:
    lead = make.organisation("Stadtteilbüro Nord")
    make.commit()  # the organisation counts from now …
    with effective_from(datetime(2020, 1, 1, tzinfo=UTC)):  # … its measure from 2020
        plan = make.plan(valid_from=date(2020, 1, 1))
        make.measure(make.goal(make.field(plan)), lead=lead)
        make.commit()
    with pytest.raises(HistoryGapError):
        plan_as_of(plan.id, datetime(2021, 1, 1, tzinfo=UTC))
    assert cover_references(db.session, plan.id) == 1
    past = plan_as_of(plan.id, datetime(2021, 1, 1, tzinfo=UTC))
    assert past is not None and past.measures()[0].lead == "Stadtteilbüro Nord"
