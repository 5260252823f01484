"""Fortschreibung: the wizard's result, lineage, the old plan untouched and then read-only,
the Abschlussbericht's figures against the database."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.auth.models import AuditEntry, User
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.history import plan_as_of
from hki.plan.models import Field, Goal, Measure, Plan
from hki.reports import jobs
from hki.reports.data import gather
from hki.reports.models import Report, ReportState
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


def choose(plan: Plan) -> tuple[list[services.Proposal], services.Outline]:
    """The defaults, plus: the first carried measure moves to goal 2.1, one is dropped."""
    items = services.proposals(plan)
    outline, errors = services.parse_structure(services.structure_text(plan))
    assert errors == []
    carried = [i for i in items if i.outcome is Outcome.CARRIED_OVER]
    carried[0].goal_number = "2.1"
    carried[1].outcome, carried[1].reason = Outcome.DROPPED, "Förderung ausgelaufen"
    return items, outline


def continue_plan(plan: Plan, user: User) -> tuple[Plan, list[services.Proposal]]:
    """The demo plan continued with the choices of :func:`choose` (flushed, not committed)."""
    items, outline = choose(plan)
    return services.create_successor(db.session, plan, NEW, outline, items, user), items


def test_proposals_follow_the_final_state(make: Factories) -> None:
    plan, _user = demo(make)
    items = services.proposals(plan)
    current = {i.measure.id: i.update.status if i.update else None for i in items}
    assert len(items) == 80
    for item in items:
        status = current[item.measure.id]
        expected = {Status.COMPLETED: Outcome.CLOSED, Status.DISCONTINUED: Outcome.DROPPED}.get(
            status, Outcome.CARRIED_OVER)  # type: ignore[arg-type]
        assert item.outcome is expected, (item.measure.number, status)
        assert item.goal_number == item.measure.goal.number
    assert {i.outcome for i in items} == set(Outcome)
    dropped = next(i for i in items if i.outcome is Outcome.DROPPED)
    assert dropped.reason and dropped.reason == dropped.update.note  # type: ignore[union-attr]


def test_wizard_result_matches_the_choices(make: Factories) -> None:
    plan, user = demo(make)
    items, outline = choose(plan)
    new = services.create_successor(db.session, plan, NEW, outline, items, user)
    db.session.commit()
    outcomes = db.session.scalars(select(MeasureOutcome)).all()
    # Every old measure decided exactly once, nothing lost or duplicated.
    assert sorted(o.measure_id for o in outcomes) == sorted(i.measure.id for i in items)
    assert Counter(o.outcome for o in outcomes) == Counter(i.outcome for i in items)
    carried = [i for i in items if i.outcome is Outcome.CARRIED_OVER]
    new_measures = db.session.scalars(
        select(Measure).join(Measure.goal).join(Goal.field).where(Field.plan_id == new.id)
    ).all()
    assert len(new_measures) == len(carried)
    assert sorted(m.origin_id or 0 for m in new_measures) == sorted(i.measure.id for i in carried)
    by_origin = {m.origin_id: m for m in new_measures}
    for item in carried:
        copy = by_origin[item.measure.id]
        assert (copy.title, copy.lead_organisation_id,
                [p.id for p in copy.partners], copy.priority) == (
            item.measure.title, item.measure.lead_organisation_id,
            [p.id for p in item.measure.partners], item.measure.priority)
        assert [i.name for i in copy.indicators] == [i.name for i in item.measure.indicators]
        assert copy.goal.number == item.goal_number
        outcome = next(o for o in outcomes if o.measure_id == item.measure.id)
        assert outcome.successor_measure_id == copy.id
    # Numbers: the next free one in each goal, in the old order, no gaps, no clashes.
    for goal in {m.goal for m in new_measures}:
        numbers = [m.number for m in sorted(goal.measures, key=lambda m: m.position)]
        assert numbers == [f"{goal.number}.{k}" for k in range(1, len(numbers) + 1)]
    moved = by_origin[carried[0].measure.id]
    assert moved.goal.number == "2.1" and carried[0].measure.goal.number != "2.1"
    dropped = next(o for o in outcomes if o.reason == "Förderung ausgelaufen")
    assert (dropped.outcome, dropped.successor_measure_id) == (Outcome.DROPPED, None)
    assert dropped.measure.id not in by_origin
    assert (new.state, new.predecessor_id, [f.number for f in new.fields]) == (
        PlanState.DRAFT, plan.id, [f.number for f in plan.fields])
    with pytest.raises(services.RevisionError, match="schon eine Fortschreibung"):
        services.create_successor(db.session, plan, NEW, outline, items, user)


def test_choices_are_checked(make: Factories) -> None:
    plan, user = demo(make)
    items = services.proposals(plan)
    outline, _errors = services.parse_structure("1 Sprache\n1.1 Kurse")
    errors = services.check_choices(items, outline)
    carried = [i for i in items if i.outcome is Outcome.CARRIED_OVER]
    assert len(errors) == sum(i.goal_number != "1.1" for i in carried)
    assert "„2.1“ gibt es in der neuen Gliederung nicht" in " ".join(errors.values())
    items[0].outcome, items[0].reason = Outcome.DROPPED, ""
    assert "Bitte begründen Sie" in services.check_choices(items, outline)[items[0].measure.id]
    _outline, problems = services.parse_structure("1 Sprache\n2.1 Ziel ohne Feld\nx Titel\n1")
    assert problems == [
        "Zeile 2: Zum Ziel 2.1 fehlt vorher das Handlungsfeld 2.",
        "Zeile 3: „x“ ist keine Nummer eines Handlungsfelds (1) oder Ziels (1.2).",
        "Zeile 4: Nach der Nummer 1 fehlt der Titel."]
    with pytest.raises(services.RevisionError):
        services.create_successor(db.session, plan, NEW, outline, items, user)
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1


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
    new, items = continue_plan(plan, user)
    db.session.commit()
    item = items[next(k for k, i in enumerate(items) if i.outcome is Outcome.CARRIED_OVER)]
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


def _counts_in(text: str, label: str) -> list[int]:
    line = next(line for line in text.splitlines() if line.startswith(label))
    return [int(n) for n in re.findall(r"\d+", line[len(label):])]


def test_abschlussbericht_counts_equal_the_database(app_ctx: Flask, make: Factories) -> None:
    plan, user = demo(make)
    continue_plan(plan, user)
    db.session.commit()
    report = jobs.request_final(db.session, plan, user)
    db.session.commit()
    done = jobs.run_once(db.session)
    assert done is not None and done.state is ReportState.DONE, done and done.error
    assert done.file_name.startswith("Abschlussbericht_2025-12-31_")
    text = pdf_text(done.pdf or b"")
    assert "Abschlussbericht" in text and "Verbleib der Maßnahmen" in text
    outcomes = Counter(db.session.scalars(select(MeasureOutcome.outcome)))
    completed_by_status = 0  # every measure has an outcome, so the decision counts
    assert _counts_in(text, "Abgeschlossen ") [:1] == [outcomes[Outcome.CLOSED] +
                                                      completed_by_status]
    assert _counts_in(text, "Fortgeführt im neuen Plan ")[:1] == [outcomes[Outcome.CARRIED_OVER]]
    assert _counts_in(text, "Entfallen ")[:1] == [outcomes[Outcome.DROPPED]]
    assert "Grund: Förderung ausgelaufen" in " ".join(text.split())
    # Status counts at the plan's last day, straight from SQL: latest counted update per
    # measure with as_of ≤ 31.12.2025.
    latest: dict[int, StatusUpdate] = {}
    for u in db.session.scalars(select(StatusUpdate).where(
            StatusUpdate.as_of <= plan.valid_to).order_by(StatusUpdate.as_of,
                                                           StatusUpdate.recorded_at)):
        latest[u.measure_id] = u
    by_status = Counter(u.status for u in latest.values())
    total = _counts_in(text, "Insgesamt")
    assert total[:8] == [by_status[s] for s in Status]
    assert total[8] == 80 - len(latest) and total[9] == 80
    data = gather_final(plan.id, report.known_at)
    assert [len(rows) for _n, _t, rows in data.history] == [6] * len(plan.fields)
    assert sum(t.total for _n, _t, rows in data.history for day, t in rows
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
