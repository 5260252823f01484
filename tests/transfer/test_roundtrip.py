"""Plan → xlsx → empty database gives the same tree and the same counted updates."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from hki.auth.models import AuditEntry, User
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.history import PlanAsOf, plan_as_of
from hki.plan.models import Field, Goal, Indicator, Measure, Organisation, Plan
from hki.reports.data import end_of_day, gather
from hki.transfer import importing, writing
from hki.transfer.models import DataImport
from hki.updates.models import StatusUpdate
from hki.updates.queries import counted
from hki.updates.services import post_update
from hki.vocab import Role, Status
from tests.factories import Factories


def same_text(value: Any) -> Any:
    """Texts compare up to line endings and outer spaces (Excel keeps neither)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, tuple | list):
        return type(value)(same_text(v) for v in value)
    return value


def shape(plan: PlanAsOf) -> Any:
    """The tree without ids and timestamps: what must survive the round trip."""
    return same_text(_shape(plan))


def _shape(plan: PlanAsOf) -> Any:
    return (
        plan.title, plan.city, plan.owner_unit, plan.description, plan.valid_from,
        plan.valid_to, plan.state, plan.adopted_on, plan.adoption_paper_ref,
        [(f.number, f.title, f.description,
          [(g.number, g.title, g.description,
            [(m.number, m.title, m.description, m.lead, m.partners, m.target_groups,
              m.start_date, m.end_date, m.priority, m.funding_note, m.budget_eur,
              [(i.name, i.unit, i.baseline_value, i.baseline_date, i.target_value,
                i.target_date, i.data_source) for i in m.indicators])
             for m in g.measures]) for g in f.goals]) for f in plan.fields],
    )


def counted_updates(plan_id: int) -> list[tuple[str, date, Status, int | None, str]]:
    stmt = (select(Measure.number, StatusUpdate.as_of, StatusUpdate.status,
                   StatusUpdate.progress, StatusUpdate.note)
            .join(StatusUpdate.measure).join(Measure.goal).join(Goal.field)
            .where(counted(), Field.plan_id == plan_id))
    return sorted((n, d, s, p, t) for n, d, s, p, t in db.session.execute(stmt))


def coordinator(name: str = "Koordination") -> User:
    user = User(email=f"{name.lower()}@example.org", display_name=name,
                role=Role.COORDINATOR, session_token="t")
    db.session.add(user)
    db.session.flush()
    return user


def build_source() -> int:
    """The demo plan plus the awkward cases: two indicators, formula-like and multi-line
    notes, a corrected update, a pending office update, budget and an ongoing measure."""
    seed_demo(db.session)
    plan = db.session.scalars(select(Plan)).one()
    measures = db.session.scalars(select(Measure).order_by(Measure.id)).all()
    first, second, third = measures[0], measures[1], measures[2]
    first.indicators.append(Indicator(name="Zweiter Indikator – Anteil", unit="%",
                                      baseline_value=1234567.5, target_value=30.0, position=5))
    first.indicators.append(Indicator(name="Zweiter Indikator – Anteil", unit="=Anzahl",
                                      position=6))  # the same name twice: the form allows it
    first.budget_eur = 25000
    first.funding_note = "Landesmittel; Eigenanteil 10 %"
    first.description = "Zeile eins\r\nZeile zwei (aus einem Textfeld, mit CRLF)  "
    first.partners.append(Organisation(name="Caritas; Kreisverband Friesland"))
    first.partners.append(first.lead)  # the lead also as a partner
    second.end_date = None
    boss = coordinator()
    wrong = post_update(db.session, second, boss, as_of=date(2025, 3, 31),
                        status=Status.IN_PROGRESS, progress=10, note="falsch")
    post_update(db.session, second, boss, as_of=date(2025, 3, 31), status=Status.IN_PROGRESS,
                progress=40, note="Zeile eins\nZeile zwei: Übergänge für Geflüchtete",
                corrects=wrong)
    post_update(db.session, third, boss, as_of=date(2025, 4, 30), status=Status.IN_PROGRESS,
                progress=50, note="=SUMME(A1:A3) steht so im Text")
    post_update(db.session, third, boss, as_of=date(2025, 4, 30), status=Status.IN_PROGRESS,
                progress=55, note="am selben Tag nachgetragen")
    office = User(email="vhs@example.org", display_name="VHS", role=Role.OFFICE,
                  organisation=first.lead, session_token="o")
    db.session.add(office)
    post_update(db.session, first, office, as_of=date(2025, 6, 30), status=Status.DELAYED,
                progress=30, note="wartet auf Freigabe")
    db.session.commit()
    return plan.id


def test_plan_to_xlsx_to_empty_database_gives_the_same_tree_and_updates(
    fresh_apps: Callable[[], Flask],
) -> None:
    source, target = fresh_apps(), fresh_apps()
    with source.app_context():
        plan_id = build_source()
        before = plan_as_of(plan_id, datetime.now(UTC))
        assert before is not None
        expected_tree = shape(before)
        expected_updates = counted_updates(plan_id)
        expected_report = gather(plan_id, date(2024, 12, 31), datetime.now(UTC)).total
        data = writing.to_xlsx(writing.plan_export(plan_id))
        same_database = importing.check_import(db.session, data, "export.xlsx")
        assert same_database.errors == [] and same_database.changes == [], [
            str(p) for p in same_database.problems] + [str(c) for c in same_database.changes]
        pending = db.session.scalar(select(func.count()).select_from(StatusUpdate).where(
            ~counted()))
    assert pending == 2  # the corrected one and the one waiting for review: not exported
    assert ("1.1.1", date(2025, 6, 30)) not in {(n, d) for n, d, *_ in expected_updates}

    with target.app_context():
        author = coordinator("Import")
        db.session.commit()
        check = importing.check_import(db.session, data, "export.xlsx")
        assert check.errors == [], [str(p) for p in check.errors]
        last_entry = db.session.scalar(select(func.max(AuditEntry.id)))
        importing.apply_import(db.session, check, author)
        db.session.commit()
        new_id = db.session.scalars(select(Plan.id)).one()
        after = plan_as_of(new_id, datetime.now(UTC))
        assert after is not None
        assert shape(after) == expected_tree
        assert counted_updates(new_id) == expected_updates
        # The tree counts from the adoption, so an old Stichtag's report is the same.
        assert gather(new_id, date(2024, 12, 31), datetime.now(UTC)).total == expected_report
        assert plan_as_of(new_id, end_of_day(date(2020, 4, 28))) is None
        # Audited: one import record and entries for what it created, in one transaction.
        record = db.session.scalars(select(DataImport)).one()
        assert record.summary["Maßnahme neu"] == 80
        assert record.summary["Organisation neu"] == 89
        assert record.summary["Sachstand neu"] == len(expected_updates)
        entries = db.session.scalars(select(AuditEntry.entity).where(
            AuditEntry.id > last_entry)).all()
        assert entries.count("measures") == 80
        assert entries.count("data_imports") == 1

        again = importing.check_import(db.session, data, "export.xlsx")
        assert again.ok and again.changes == []
        assert again.unchanged > 80


def test_status_template_round_trip_takes_only_filled_rows(make: Factories) -> None:
    plan = make.plan(title="HKI Test")
    measure = make.measure(make.goal(make.field(plan)), number="1.1.1")
    other = make.measure(measure.goal, number="1.1.2")
    boss = make.user(role=Role.COORDINATOR)
    data = writing.to_xlsx(writing.status_template(plan.id))
    book = load_workbook(io.BytesIO(data))
    sheet = book["Sachstände"]
    assert [c.value for c in sheet["A"]][1:] == ["1.1.1", "1.1.2"]
    sheet["D2"], sheet["E2"], sheet["F2"] = date(2024, 9, 30), "in Umsetzung", 60
    out = io.BytesIO()
    book.save(out)
    check = importing.check_import(db.session, out.getvalue(), "antwort.xlsx")
    assert check.errors == []
    # hki's own sheets for people (Anleitung, the plan for information) pass silently.
    assert [str(p) for p in check.warnings] == []
    assert check.unanswered == 1
    importing.apply_import(db.session, check, boss)
    updates = db.session.scalars(select(StatusUpdate)).all()
    assert [(u.measure_id, u.as_of, u.status, u.progress) for u in updates] == [
        (measure.id, date(2024, 9, 30), Status.IN_PROGRESS, 60)]
    assert updates[0].review is not None  # a coordinator's import counts at once
    del other
