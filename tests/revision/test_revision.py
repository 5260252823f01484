"""Fortschreibung: the wizard's result, lineage, the old plan untouched and then read-only,
the Abschlussbericht's figures against the database."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.auth.models import AuditEntry, User
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.plan.models import Field, Goal, IndicatorValue, Measure, Plan
from hki.reports import jobs
from hki.reports.data import gather
from hki.reports.models import Report, ReportState
from hki.reports.narrative import Narrative, save_narrative
from hki.reports.render import render_html
from hki.revision import services
from hki.revision.final import gather_final
from hki.revision.models import MeasureOutcome
from hki.transfer import importing, writing
from hki.updates.models import StatusUpdate
from hki.updates.services import InvalidUpdateError, post_update
from hki.vocab import Outcome, PlanState, Role, Status
from tests.conftest import Auth, analyze
from tests.factories import Factories
from tests.reports.test_report import pdf_text
from tests.transfer.test_roundtrip import counted_updates, shape

NEW = services.NewPlan(title="HKI 2026–2030", valid_from=date(2026, 1, 1),
                       valid_to=date(2030, 12, 31))


def demo(make: Factories) -> tuple[Plan, User]:
    seed_demo(db.session)
    analyze(db.session)
    plan = db.session.scalars(select(Plan)).one()
    return plan, make.user(role=Role.COORDINATOR)


def continue_plan(plan: Plan, user: User) -> tuple[Plan, list[services.Row]]:
    """The demo plan's stored draft with the defaults, plus: the first carried measure
    moved to goal 2.1, the second dropped, every old end date moved into the new period
    (flushed, not committed)."""
    new = services.start(db.session, plan, NEW, user)
    rows = services.mapping(db.session, plan, new)
    carried = [r for r in rows if r.carried]
    goal = next(g for g in services.draft_goals(new) if g.number == "2.1")
    services.decide(db.session, carried[0], services.Choice(
        Outcome.CARRIED_OVER, goal, "", date(2028, 12, 31)), user)
    services.decide(db.session, carried[1], services.Choice(
        Outcome.DROPPED, None, "Förderung ausgelaufen", None), user)
    rows = services.mapping(db.session, plan, new)
    services.set_end_dates(db.session, rows, date(2030, 12, 31))
    return new, services.mapping(db.session, plan, new)


def test_the_draft_starts_with_the_proposals_of_the_final_state(make: Factories) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    db.session.commit()
    rows = services.mapping(db.session, plan, new)
    assert len(rows) == 80
    for row in rows:
        status = row.update.status if row.update else None
        expected = {Status.COMPLETED: Outcome.CLOSED, Status.DISCONTINUED: Outcome.DROPPED}.get(
            status, Outcome.CARRIED_OVER)  # type: ignore[arg-type]
        assert row.decision.outcome is expected, (row.measure.number, status)
        # Carried over into the goal that continues its own, same number, nothing flagged.
        assert (row.copy is not None) is (expected is Outcome.CARRIED_OVER)
        if row.copy is not None:
            assert row.copy.goal.origin_id == row.measure.goal_id
            assert row.copy.number == row.measure.number or row.copy.goal.number == \
                row.measure.goal.number
            assert not (row.moved or row.topic_changed or row.homeless)
    assert {r.decision.outcome for r in rows} == set(Outcome)
    dropped = next(r for r in rows if r.decision.outcome is Outcome.DROPPED)
    assert dropped.decision.reason and dropped.decision.reason == \
        dropped.update.note  # type: ignore[union-attr]
    assert [(f.number, f.title, f.origin_id) for f in new.fields] == [
        (f.number, f.title, f.id) for f in plan.fields]
    with pytest.raises(services.RevisionError, match="schon eine Fortschreibung"):
        services.start(db.session, plan, NEW, user)


def test_decisions_change_the_draft_and_can_be_changed_back(make: Factories) -> None:
    plan, user = demo(make)
    new, rows = continue_plan(plan, user)
    db.session.commit()
    outcomes = db.session.scalars(select(MeasureOutcome)).all()
    # Every old measure decided exactly once, nothing lost or duplicated.
    assert sorted(o.measure_id for o in outcomes) == sorted(r.measure.id for r in rows)
    carried = [r for r in rows if r.carried]
    new_measures = db.session.scalars(
        select(Measure).join(Measure.goal).join(Goal.field).where(
            Field.plan_id == new.id, Measure.archived_at.is_(None))).all()
    assert sorted(m.origin_id or 0 for m in new_measures) == sorted(r.measure.id for r in carried)
    for row in carried:
        copy, old = row.copy, row.measure
        assert copy is not None
        assert (copy.title, copy.lead_organisation_id, [p.id for p in copy.partners],
                copy.priority) == (old.title, old.lead_organisation_id,
                                   [p.id for p in old.partners], old.priority)
        assert [i.name for i in copy.indicators] == [i.name for i in old.indicators]
        assert row.decision.successor_measure_id == copy.id
        assert copy.end_date is None or copy.end_date >= NEW.valid_from
    # Numbers: unique in each goal, nothing clashes.
    for goal in {m.goal for m in new_measures}:
        numbers = [m.number for m in goal.measures if m.archived_at is None]
        assert len(numbers) == len(set(numbers))
    moved = carried[0]
    assert moved.copy is not None and moved.copy.goal.number == "2.1" and moved.moved
    assert moved.copy.end_date == date(2028, 12, 31)
    assert moved.topic_changed is (moved.measure.goal.field.number != "2")
    dropped = next(r for r in rows if r.decision.reason == "Förderung ausgelaufen")
    assert (dropped.decision.outcome, dropped.copy) == (Outcome.DROPPED, None)
    # Changed back: the same copy comes back, into the goal chosen now, with a free number.
    home = dropped.default_goal
    assert home is not None
    goal = home
    assert services.decide(db.session, dropped, services.Choice(
        Outcome.CARRIED_OVER, goal, "", None), user)
    db.session.commit()
    again = next(r for r in services.mapping(db.session, plan, new)
                 if r.measure.id == dropped.measure.id)
    assert again.copy is not None and again.copy.id == dropped.decision.successor_measure_id
    assert again.copy.goal_id == goal.id and not again.moved
    # Saving the same choice again changes nothing and writes nothing.
    entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert not services.decide(db.session, again, services.Choice(
        Outcome.CARRIED_OVER, goal, "", None), user)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries


def test_choices_are_checked(make: Factories) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    goal = services.draft_goals(new)[0]
    check = services.check_choice
    assert check(services.Choice(Outcome.CARRIED_OVER, None, "", None), new) == \
        "Bitte wählen Sie das Ziel im neuen Plan."
    # An old end is saved and flagged (the adoption waits for it), not refused.
    assert check(services.Choice(Outcome.CARRIED_OVER, goal, "", date(2025, 6, 30)),
                 new) is None
    assert check(services.Choice(Outcome.CARRIED_OVER, goal, "", None), new) is None
    assert "Bitte begründen Sie" in (check(services.Choice(
        Outcome.DROPPED, None, "", None), new) or "")
    assert check(services.Choice(Outcome.CLOSED, None, "", None), new) is None
    rows = services.mapping(db.session, plan, new)
    row = next(r for r in rows if r.carried)
    key = row.measure.id
    choices, errors, posted = services.read_choices(rows, {
        f"outcome-{key}": "carried_over", f"goal-{key}": str(goal.id),
        f"reason-{key}": "  ", f"end-{key}": "31.02.2027"}, new)
    assert list(choices) == [key] and errors[key].startswith("Bitte geben Sie das Ende als Datum")
    assert posted[key].end == "31.02.2027"  # shown again as typed, nothing lost


def _element_history(plan_id: int) -> list[int]:
    """Ids of the audit entries of the plan's fields, goals and measures."""
    measure_ids = select(Measure.id).join(Measure.goal).join(Goal.field).where(
        Field.plan_id == plan_id)
    return list(db.session.scalars(select(AuditEntry.id).where(
        AuditEntry.entity == "measures", AuditEntry.entity_id.in_(measure_ids))
        .order_by(AuditEntry.id)))


def _old_plan_state(plan_id: int) -> Any:
    tree = plan_as_of(plan_id, datetime.now(UTC))
    assert tree is not None
    return shape(tree)[:6], shape(tree)[7:], counted_updates(plan_id)


def test_old_plan_and_its_reports_stay_as_they_were_and_become_read_only(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    report = make.report(plan, pdf=b"%PDF-1.7 Sachstandsbericht 2024")
    make.commit()
    before = _old_plan_state(plan.id)
    old_entries = _element_history(plan.id)
    new, _items = continue_plan(plan, user)
    services.adopt(db.session, new, date(2026, 2, 26), "V-2026/017")
    db.session.commit()
    assert (new.state, new.adopted_on, new.adoption_paper_ref) == (
        PlanState.ADOPTED, date(2026, 2, 26), "V-2026/017")
    assert plan.state is PlanState.CLOSED
    after = _old_plan_state(plan.id)
    assert after[0][:6] == before[0][:6] and after[1:] == before[1:]  # only the state moved
    # The old plan's elements got no new history entries (the copies are new elements).
    assert _element_history(plan.id) == old_entries
    measure = services.active_measures(plan)[0]
    with pytest.raises(InvalidUpdateError, match="abgeschlossen"):
        post_update(db.session, measure, user, as_of=date(2026, 3, 1),
                    status=Status.IN_PROGRESS, progress=10, note="")
    db.session.rollback()
    auth.login_as(Role.COORDINATOR)
    assert client.get(f"/massnahmen/{measure.id}/sachstand").status_code == 403
    assert client.get(f"/plaene/{plan.id}/bearbeiten").status_code == 403
    assert client.get(f"/plaene/{plan.id}/abfragen/neu").status_code == 403
    page = client.get(f"/massnahmen/{measure.id}").get_data(as_text=True)
    assert "Sachstand erfassen" not in page
    check = importing.check_import(db.session, writing.to_xlsx(writing.status_template(
        plan.id)), "x.xlsx")
    assert check.plan is not None and check.plan.id == plan.id
    stored = db.session.get(Report, report.id)
    assert stored is not None and stored.pdf == b"%PDF-1.7 Sachstandsbericht 2024"
    assert client.get(f"/berichte/{report.id}.pdf").data == b"%PDF-1.7 Sachstandsbericht 2024"


def test_lineage_on_measure_pages_and_in_the_new_plans_report(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    new, rows = continue_plan(plan, user)
    db.session.commit()
    item = next(r for r in rows if r.carried)
    old = item.measure
    copy = db.session.scalars(select(Measure).where(Measure.origin_id == old.id)).one()
    auth.login_as(Role.READER)
    page = client.get(f"/massnahmen/{copy.id}").get_data(as_text=True)
    assert f"Fortgeführt aus Maßnahme {old.number} des Plans „{plan.title}“." in page
    assert f"Bisheriger Verlauf: Maßnahme {old.number}" in page
    if item.update is not None:
        assert item.update.note[:30] in page  # the old history, read-only
    old_page = client.get(f"/massnahmen/{old.id}").get_data(as_text=True)
    assert f"Fortgeführt als Maßnahme {copy.number} in „{new.title}“." in old_page
    html = render_html(gather(new.id, date(2026, 12, 31), datetime.now(UTC)))
    assert f"fortgeführt aus {old.number}" in html
    overview = client.get(f"/plaene/{plan.id}").get_data(as_text=True)
    assert f"Fortgeschrieben durch <a href=\"/plaene/{new.id}\">{new.title}</a>" in overview


def _row(text: str, label: str, start: int = 0) -> list[int]:
    """The figures of the first line from ``start`` on that begins with ``label``."""
    lines = text.splitlines()
    line = next(line for line in lines[start:] if line.startswith(label + " "))
    return [int(n) for n in re.findall(r"\b\d+\b", line[len(label):].split("%")[0])]


def test_abschlussbericht_tells_outcome_and_status_apart_and_counts_agree(
    app_ctx: Flask, make: Factories,
) -> None:
    plan, user = demo(make)
    _new, rows = continue_plan(plan, user)
    # Three indicators with values: one reaches its target, one misses it, one has none.
    indicators = [i for r in rows for i in r.measure.indicators][:3]
    indicators[0].baseline_value, indicators[0].target_value = 5, 10
    indicators[1].baseline_value, indicators[1].target_value = 0, 50
    indicators[2].target_value = None
    for indicator, value in zip(indicators, (12, 20, 7), strict=True):
        db.session.add(IndicatorValue(indicator=indicator, as_of=date(2025, 11, 30),
                                      value=value, recorded_by=user))
    field = plan.fields[0]
    save_narrative(db.session, plan.id, plan.valid_to, user, Narrative(
        intro="Der Plan endet nach sechs Jahren.", assessment="Viel erreicht, manches offen.",
        outlook="Die Fortschreibung setzt auf Sprache.", fields={field.id: "Sprache trägt."}),
        None)
    db.session.commit()
    jobs.request_final(db.session, plan, user)
    db.session.commit()
    done = jobs.run_once(db.session)
    assert done is not None and done.state is ReportState.DONE, done and done.error
    assert done.file_name.startswith("Abschlussbericht_2025-12-31_")
    text = pdf_text(done.pdf or b"")
    if os.environ.get("HKI_SCREENSHOT_DIR"):  # to look at the pages
        (Path(os.environ["HKI_SCREENSHOT_DIR"]) / "abschlussbericht.pdf").write_bytes(
            done.pdf or b"")
    flat = " ".join(text.split())
    outcomes = Counter(db.session.scalars(select(MeasureOutcome.outcome)))
    # The outcome table: rows by decision, columns by final status, sums agree.
    start = text.splitlines().index("Verbleib der Maßnahmen", 20)
    carried = _row(text, "Fortgeführt im neuen Plan", start)
    ended = _row(text, "Mit dem Plan beendet", start)
    dropped = _row(text, "Entfallen", start)
    assert (carried[-1], ended[-1], dropped[-1]) == (
        outcomes[Outcome.CARRIED_OVER], outcomes[Outcome.CLOSED], outcomes[Outcome.DROPPED])
    in_table = _row(text, "Insgesamt", start)
    on_page_3 = _row(text, "Insgesamt")
    assert in_table == on_page_3[:len(in_table)]
    assert [a + b + c for a, b, c in zip(carried, ended, dropped, strict=True)] == in_table
    # Status counts at the plan's last day, straight from SQL.
    latest: dict[int, StatusUpdate] = {}
    for u in db.session.scalars(select(StatusUpdate).where(
            StatusUpdate.as_of <= plan.valid_to).order_by(StatusUpdate.as_of,
                                                           StatusUpdate.recorded_at)):
        latest[u.measure_id] = u
    by_status = Counter(u.status for u in latest.values())
    assert in_table[:8] == [by_status[s] for s in Status]
    assert in_table[8] == 80 - len(latest) and in_table[9] == 80
    assert "„Mit dem Plan beendet“ ist diese Entscheidung, kein Umsetzungs" in flat
    # Every decision with its reason and every measure with its last status.
    assert "Begründung: Förderung ausgelaufen" in flat
    assert flat.count("zuletzt: ") == 80
    # Indicators: the summary, only valued ones in the table, the rest named once.
    assert ("Für 3 wurde bis zum 31.12.2025 ein Wert erfasst: Ziel erreicht 1, nicht "
            "erreicht 1, ohne Zielwert 1. Für 77 wurde kein Wert erfasst.") in flat
    assert _row(text, "kein Wert erfasst") == [77] and "Kein Wert erfasst (77)" in flat
    assert "nicht messbar" not in flat
    # The coordination's texts, like the Sachstandsbericht's.
    for words in ("Der Plan endet nach sechs Jahren.", "Viel erreicht, manches offen.",
                  "Die Fortschreibung setzt auf Sprache.", "Sprache trägt."):
        assert words in flat
    data = gather_final(plan.id, done.known_at)
    assert [len(r) for _n, _t, r in data.history] == [6] * len(plan.fields)
    assert sum(t.total for _n, _t, r in data.history for day, t in r
               if day == plan.valid_to) == 80


def test_every_chart_pattern_reference_resolves(app_ctx: Flask, make: Factories) -> None:
    """Several charts on one page: each has its own pattern ids, and every fill finds one."""
    from hki.revision.final import render_final_html

    plan, _user = demo(make)
    html = render_final_html(gather_final(plan.id, datetime.now(UTC)))
    references = set(re.findall(r'url\(#([^)]+)\)', html))
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(references) > 10 and references <= set(ids)
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)
